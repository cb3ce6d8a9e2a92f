// A weekly schedule drawn on a 7 × 24 grid of hours (click or drag to switch hours on and off), read from and
// written to the config's windows ({days, start, end}); all hours on is "always" (no windows).
import { el } from './api.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hh = (h) => `${String(h).padStart(2, '0')}:00`;

// The server's rule (vigil/schedule.py in_windows): a window ending before it starts runs over midnight.
function covered(windows, day, minute) {
  return windows.some((w) => {
    const a = minutes(w.start ?? '00:00'), b = minutes(w.end ?? '24:00'), days = w.days ?? [0, 1, 2, 3, 4, 5, 6];
    return days.includes(day) && (a <= b ? a <= minute && minute < b : minute >= a || minute < b);
  });
}

export function scheduleGrid(windows) {
  const box = el(`<div class="sched" role="grid" aria-label="weekly schedule"><span></span>${[...Array(24).keys()].map((h) => `<span class="sched-h">${h % 6 === 0 ? h : ''}</span>`).join('')}</div>`);
  const on = DAYS.map((_, d) => [...Array(24).keys()].map((h) => !windows.length || covered(windows, d, h * 60 + 30)));
  DAYS.forEach((name, d) => {
    box.append(el(`<span class="sched-day">${name}</span>`));
    for (let h = 0; h < 24; h++) {
      const cell = el(`<span class="sched-cell" role="gridcell" data-day="${d}" data-hour="${h}" title="${name} ${hh(h)}–${hh(h + 1)}"></span>`);
      cell.classList.toggle('on', on[d][h]);
      box.append(cell);
    }
  });
  let paint = null;  // while dragging: the state the first cell was switched to
  const set = (cell) => { on[cell.dataset.day][cell.dataset.hour] = paint; cell.classList.toggle('on', paint); };
  box.addEventListener('pointerdown', (e) => {
    const cell = e.target.closest('.sched-cell');
    if (!cell) return;
    e.preventDefault();
    paint = !on[cell.dataset.day][cell.dataset.hour]; set(cell);
  });
  box.addEventListener('pointermove', (e) => {
    if (paint === null) return;
    const cell = document.elementFromPoint(e.clientX, e.clientY)?.closest('.sched-cell');
    if (cell && box.contains(cell)) set(cell);
  });
  const stop = () => { paint = null; };
  ['pointerup', 'pointercancel', 'pointerleave'].forEach((t) => box.addEventListener(t, stop));
  box.windows = () => {
    if (on.every((row) => row.every(Boolean))) return [];
    // Runs of hours per day; days with the same runs share a window.
    const byRun = new Map();
    on.forEach((row, d) => {
      for (let h = 0; h < 24;) {
        if (!row[h]) { h++; continue; }
        let end = h;
        while (end < 24 && row[end]) end++;
        const key = `${hh(h)}-${end === 24 ? '24:00' : hh(end)}`;
        byRun.set(key, [...(byRun.get(key) || []), d]);
        h = end;
      }
    });
    return [...byRun].map(([key, days]) => ({ days, start: key.slice(0, 5), end: key.slice(6) }));
  };
  box.isEmpty = () => on.every((row) => row.every((x) => !x));
  box.describe = () => describe(box.windows());
  return box;
}

export function describe(windows) {
  if (!windows || !windows.length) return 'always';
  return windows.map((w) => `${(w.days ?? [0, 1, 2, 3, 4, 5, 6]).map((d) => DAYS[d]).join(' ')} ${w.start ?? '00:00'}–${w.end ?? '24:00'}`).join('; ');
}
