"""Scale-out: nodes sharing one PostgreSQL catalog and one bucket, cameras assigned by leases."""
