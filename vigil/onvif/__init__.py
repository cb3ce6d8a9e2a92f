"""ONVIF: the client side (device, discovery, events, the hub that keeps devices per camera)."""
