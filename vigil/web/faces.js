// Faces: databases, persons and their photos; "when was this person here" by person, photo or attributes.
import { api, esc, fmtTime } from './api.js';

const KINDS = { allow: 'allow (VIP)', block: 'block (alarm)', info: 'info' };
const DETAILS = [['gender', 'Gender'], ['birthday', 'Birthday'], ['credential_type', 'ID type'],
  ['credential_number', 'ID number'], ['country', 'Country / region'], ['state', 'State'], ['address', 'Address'], ['notes', 'Notes']];

function hitRow(h) {
  const e = h.event;
  const who = e.details.person_name ? `${esc(e.details.person_name)} <span class="muted">${esc(e.details.database || '')}</span>` : '<span class="muted">stranger</span>';
  const attrs = [h.gender, h.age != null ? `~${h.age} y` : ''].filter(Boolean).join(', ');
  return `<tr data-clip="${esc(e.clip_url || '')}" data-event="${e.id}">
    <td>${e.snapshot_url ? `<img class="thumb face" loading="lazy" alt="" src="${esc(e.snapshot_url)}">` : ''}</td>
    <td>${fmtTime(e.start_ms)}</td><td>${esc(e.camera_id)}</td><td><span class="badge">${esc(e.type)}</span></td>
    <td>${who}<br><span class="muted">${esc(attrs)}</span></td>
    <td>${h.similarity != null ? `${(h.similarity * 100).toFixed(1)} %` : ''}</td>
    <td>${e.details.person_id ? '' : `<button data-promote="${e.id}" title="Enrol this face as a new person in the selected database">Enrol…</button>`}</td></tr>`;
}

export async function renderFaces(view) {
  view.innerHTML = `<div class="faces-layout">
    <section class="panel"><h3>Face databases</h3><ul id="fdb-list" class="rule-list"></ul>
      <form id="fdb-form" class="toolbar"><input id="fdb-name" placeholder="new database" required maxlength="100">
        <select id="fdb-kind">${Object.entries(KINDS).map(([k, v]) => `<option value="${k}">${v}</option>`).join('')}</select>
        <button>Create</button></form><p class="error" id="fdb-error"></p></section>
    <section class="panel"><h3 id="fp-title">Persons</h3>
      <div class="toolbar"><input id="fp-filter" placeholder="name contains"></div>
      <table><tbody id="fp-rows"></tbody></table>
      <details><summary>Add a person</summary><form id="fp-form" class="form">
        <label for="fp-name">Name</label><input id="fp-name" required maxlength="200">
        ${DETAILS.map(([k, label]) => `<label for="fp-${k}">${label}</label>${k === 'gender'
          ? `<select id="fp-${k}"><option value=""></option><option>male</option><option>female</option><option>other</option></select>`
          : `<input id="fp-${k}" ${k === 'birthday' ? 'type="date"' : ''}>`}`).join('')}
        <label for="fp-photo">Photo</label><input id="fp-photo" type="file" accept="image/jpeg,image/png">
        <span></span><button>Add</button></form></details><p class="error" id="fp-error"></p></section>
    <section class="panel"><h3>Search</h3>
      <div class="toolbar"><label>Who is this? <input id="fs-photo" type="file" accept="image/jpeg,image/png"></label></div>
      <div class="toolbar"><label>Gender <select id="fs-gender"><option value="">any</option><option>male</option><option>female</option></select></label>
        <label>Age <select id="fs-age"><option value="">any</option>${['child', 'teen', '18-30', '31-45', '46-60', '60+'].map((a) => `<option>${a}</option>`).join('')}</select></label>
        <button id="fs-go">Find faces</button></div>
      <p class="muted" id="fs-what"></p><p class="error" id="fs-error"></p></section></div>
    <video id="fs-player" controls muted hidden style="max-width:640px;width:100%"></video>
    <table><thead id="fs-head" hidden><tr><th>Face</th><th>Time</th><th>Camera</th><th>Event</th><th>Who</th>
      <th title="cosine similarity to the searched photo, or to the best enrolled face">Similarity</th><th></th></tr></thead>
      <tbody id="fs-rows"></tbody></table>`;
  const $ = (sel) => view.querySelector(sel);
  let current = null;

  const showHits = (hits, what) => {
    $('#fs-what').textContent = `${what}: ${hits.length} face event(s)`;
    $('#fs-head').hidden = !hits.length;
    $('#fs-rows').innerHTML = hits.map(hitRow).join('') || '<tr><td class="muted">Nothing found.</td></tr>';
    view.querySelectorAll('#fs-rows tr[data-clip]').forEach((tr) => {
      tr.onclick = () => { const p = $('#fs-player'); p.hidden = false; p.src = tr.dataset.clip; p.play().catch(() => {}); };
    });
    view.querySelectorAll('#fs-rows [data-promote]').forEach((b) => {
      b.onclick = guard('#fs-error', async (ev) => {
        ev.stopPropagation();
        if (!current) throw new Error('create or pick a face database first');
        const name = prompt(`Name of this person (added to ${current.name}):`);
        if (!name) return;
        const p = await api(`/api/faces/databases/${current.id}/persons`, { method: 'POST', json: { name } });
        await api(`/api/faces/persons/${p.id}/images/from-event/${b.dataset.promote}`, { method: 'POST' });
        b.replaceWith(`enrolled as ${name}`);
        await loadPersons(); await loadDbs();
      });
    });
  };
  const guard = (sel, fn) => async (...args) => {
    $(sel).textContent = '';
    try { await fn(...args); } catch (err) { $(sel).textContent = String(err.message || err); }
  };

  const loadDbs = async () => {
    const dbs = await api('/api/faces/databases');
    $('#fdb-list').innerHTML = dbs.map((d) => `<li data-db="${d.id}" class="${current?.id === d.id ? 'active' : ''}">
      <a href="javascript:void 0">${esc(d.name)}</a> <span class="badge">${esc(d.kind)}</span>
      <span class="muted">${d.persons} person${d.persons === 1 ? '' : 's'} · ${d.images} photo${d.images === 1 ? '' : 's'}</span><button data-del="${d.id}" title="Delete the database">×</button></li>`).join('')
      || '<li class="muted">No face databases yet.</li>';
    view.querySelectorAll('#fdb-list li[data-db] a').forEach((a) => {
      a.onclick = () => { current = dbs.find((d) => String(d.id) === a.parentElement.dataset.db); loadDbs(); loadPersons(); };
    });
    view.querySelectorAll('#fdb-list [data-del]').forEach((b) => {
      b.onclick = guard('#fdb-error', async () => {
        if (!confirm('Delete this database with its persons and photos?')) return;
        await api(`/api/faces/databases/${b.dataset.del}`, { method: 'DELETE' });
        if (current && String(current.id) === b.dataset.del) current = null;
        await loadDbs(); await loadPersons();
      });
    });
    if (!current && dbs.length) { current = dbs[0]; await loadDbs(); }
  };

  const upload = async (personId, file) => api(`/api/faces/persons/${personId}/images`, { method: 'POST', body: file, headers: { 'Content-Type': file.type || 'image/jpeg' } });

  const loadPersons = async () => {
    $('#fp-title').textContent = current ? `Persons in ${current.name}` : 'Persons';
    if (!current) { $('#fp-rows').innerHTML = ''; return; }
    const q = new URLSearchParams({ limit: '200' });
    if ($('#fp-filter').value.trim()) q.set('name', $('#fp-filter').value.trim());
    const persons = await api(`/api/faces/databases/${current.id}/persons?${q}`);
    $('#fp-rows').innerHTML = persons.map((p) => `<tr data-person="${p.id}">
      <td>${p.images.slice(0, 3).map((i) => `<img class="face-thumb" alt="" src="/api/faces/images/${i}.jpg">`).join('')}</td>
      <td><strong>${esc(p.name)}</strong><br><span class="muted">${esc(DETAILS.map(([k]) => p[k]).filter(Boolean).join(' · '))}</span></td>
      <td><label class="file-button">+ photo<input type="file" accept="image/jpeg,image/png" hidden></label>
        <button data-when="${p.id}">When was this person here?</button> <button data-drop="${p.id}">Delete</button></td></tr>`).join('')
      || '<tr><td class="muted">No persons yet: add one below, or import a folder with `vigil faces import`.</td></tr>';
    view.querySelectorAll('#fp-rows tr[data-person]').forEach((tr) => {
      const id = tr.dataset.person;
      tr.querySelector('input[type=file]').onchange = guard('#fp-error', async (e) => { await upload(id, e.target.files[0]); await loadPersons(); await loadDbs(); });
      tr.querySelector('[data-when]').onclick = guard('#fs-error', async () => showHits(await api(`/api/faces/search?person=${id}`), tr.querySelector('strong').textContent));
      tr.querySelector('[data-drop]').onclick = guard('#fp-error', async () => {
        if (!confirm('Delete this person and their photos?')) return;
        await api(`/api/faces/persons/${id}`, { method: 'DELETE' }); await loadPersons(); await loadDbs();
      });
    });
  };

  $('#fdb-form').onsubmit = guard('#fdb-error', async (e) => {
    e.preventDefault();
    current = await api('/api/faces/databases', { method: 'POST', json: { name: $('#fdb-name').value.trim(), kind: $('#fdb-kind').value } });
    $('#fdb-name').value = '';
    await loadDbs(); await loadPersons();
  });
  $('#fp-form').onsubmit = guard('#fp-error', async (e) => {
    e.preventDefault();
    if (!current) throw new Error('create or pick a face database first');
    const body = { name: $('#fp-name').value.trim() };
    for (const [k] of DETAILS) { const v = $(`#fp-${k}`).value.trim(); if (v) body[k] = v; }
    const p = await api(`/api/faces/databases/${current.id}/persons`, { method: 'POST', json: body });
    const file = $('#fp-photo').files[0];
    e.target.reset();
    await loadPersons();
    if (file) { await upload(p.id, file); await loadPersons(); }
    await loadDbs();
  });
  $('#fp-filter').oninput = () => loadPersons();
  $('#fs-photo').onchange = guard('#fs-error', async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    showHits(await api('/api/faces/search', { method: 'POST', body: file, headers: { 'Content-Type': file.type || 'image/jpeg' } }), `Faces like ${file.name}`);
  });
  $('#fs-go').onclick = guard('#fs-error', async () => {
    const q = new URLSearchParams({ limit: '100' });
    if ($('#fs-gender').value) q.set('gender', $('#fs-gender').value);
    if ($('#fs-age').value) q.set('age_group', $('#fs-age').value);
    showHits(await api(`/api/faces/search?${q}`), 'Faces');
  });
  await loadDbs();
  await loadPersons();
}
