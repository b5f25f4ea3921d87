// The dashboard's script and stylesheet, as strings so they ship inside the compiled bundle (no file lookups
// at run time). Plain browser JavaScript: everything it shows comes from `/v1` with the stored key, and every
// value reaches the page through textContent or attributes, never innerHTML.

export const APP_JS = String.raw`'use strict';
const KEY = 'labelq.key';
const page = document.body.dataset.page;
const key = () => sessionStorage.getItem(KEY);

function signOut() {
  sessionStorage.removeItem(KEY);
  location.assign('/ui/login');
}

async function api(path, as = 'json', body) {
  const headers = { authorization: 'Bearer ' + key() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status === 401) { signOut(); throw new Error('signed out'); }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const e = new Error((body.error && body.error.message) || res.statusText);
    e.status = res.status;
    throw e;
  }
  return as === 'blob' ? res.blob() : res.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(
    ['svg', 'rect', 'text', 'title', 'g'].includes(tag) ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml',
    tag,
  );
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function status(text) {
  const s = document.getElementById('status');
  if (s) s.textContent = text;
}

async function login() {
  const form = document.getElementById('login');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = document.getElementById('key').value.trim();
    const error = document.getElementById('login-error');
    const res = await fetch('/v1/ui/me', { headers: { authorization: 'Bearer ' + value } });
    if (!res.ok) { error.textContent = 'That key was not accepted (' + res.status + ').'; return; }
    sessionStorage.setItem(KEY, value);
    const me = await res.json();
    location.assign(me.scopes.includes('metrics') ? '/ui/'
      : me.scopes.includes('review') && !me.scopes.includes('read') ? '/ui/reviews' : '/ui/gallery');
  });
}

async function header() {
  document.getElementById('logout').addEventListener('click', signOut);
  const me = await api('/v1/ui/me');
  document.getElementById('who').textContent = 'Tenant ' + me.tenant + ' (' + me.scopes.join(', ') + ')';
  for (const n of document.querySelectorAll('[data-needs-scope]')) {
    n.hidden = !me.scopes.includes(n.dataset.needsScope);
  }
  return me;
}

function age(seconds) {
  if (seconds < 90) return Math.round(seconds) + ' s';
  if (seconds < 5400) return Math.round(seconds / 60) + ' min';
  return Math.round(seconds / 3600) + ' h';
}

function bars(completed, failed) {
  const max = Math.max(1, ...completed.map((c, i) => c + failed[i]));
  const w = 600, h = 120, bw = w / completed.length;
  const svg = el('svg', { viewBox: '0 0 ' + w + ' ' + h, preserveAspectRatio: 'none', role: 'img', 'aria-labelledby': 'tp-title', class: 'bars' });
  svg.append(el('title', { id: 'tp-title' }, 'Jobs completed and failed per minute, last 60 minutes'));
  completed.forEach((c, i) => {
    const ch = (c / max) * h, fh = (failed[i] / max) * h;
    svg.append(el('rect', { x: i * bw, y: h - ch - fh, width: bw - 1, height: ch, class: 'ok' }));
    if (fh > 0) svg.append(el('rect', { x: i * bw, y: h - fh, width: bw - 1, height: fh, class: 'bad' }));
  });
  return svg;
}

async function overview() {
  const me = await header();
  if (!me.scopes.includes('metrics')) {
    status('This key has no "metrics" scope: the overview needs one. The results page works with "read".');
    return;
  }
  const o = await api('/v1/ui/overview');
  document.getElementById('depth-total').textContent = String(o.depth.depth);
  document.getElementById('paused').textContent = o.depth.paused ? '(queue paused)' : '';
  const tbody = document.querySelector('#depth-table tbody');
  tbody.replaceChildren(...Object.entries(o.depth.byPurpose).map(([purpose, p]) =>
    el('tr', {}, el('th', { scope: 'row' }, purpose), el('td', {}, p.waiting), el('td', {}, p.delayed),
      el('td', {}, p.active), el('td', {}, p.depth), el('td', {}, p.waiting ? age(p.oldestWaitingAgeSeconds) : '–'))));
  const { completed, failed } = o.throughput.perMinute;
  document.getElementById('throughput-chart').replaceChildren(bars(completed, failed));
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  document.getElementById('throughput-summary').textContent =
    sum(completed) + ' completed and ' + sum(failed) + ' failed in the last 60 minutes (' +
    completed[completed.length - 1] + ' completed in the last minute).';
  const table = document.getElementById('failures-table');
  const hours = o.failuresByCode.hours.map((h) => new Date(h).getHours() + 'h');
  table.tHead.replaceChildren(el('tr', {}, el('th', { scope: 'col' }, 'Code'),
    ...hours.map((h) => el('th', { scope: 'col' }, h)), el('th', { scope: 'col' }, 'Total')));
  const rows = Object.entries(o.failuresByCode.codes);
  table.tBodies[0].replaceChildren(...(rows.length ? rows.map(([code, counts]) =>
    el('tr', {}, el('th', { scope: 'row' }, code), ...counts.map((c) => el('td', {}, c || '')), el('td', {}, sum(counts))))
    : [el('tr', {}, el('td', { colspan: hours.length + 2 }, 'No failures in the last 24 hours.'))]));
  status('Updated ' + new Date().toLocaleTimeString());
  setTimeout(() => overview().catch((e) => status('Could not refresh: ' + e.message)), 15000);
}

/** Loads an image's thumbnail into img (with the key: an <img src> cannot send it); frame gets .loaded either way. */
function thumbnail(id, name, img, frame) {
  api('/v1/ui/thumbnails/' + encodeURIComponent(id), 'blob').then(
    (blob) => { img.src = URL.createObjectURL(blob); img.decode().then(() => frame.classList.add('loaded')); },
    (e) => { img.alt = name + ': thumbnail unavailable (' + e.message + ')'; frame.classList.add('loaded'); },
  );
}

async function gallery() {
  await header();
  const { items } = await api('/v1/ui/recent?limit=24');
  status(items.length ? items.length + ' recent results' : 'No recent results for this tenant.');
  const list = document.getElementById('gallery');
  for (const item of items) {
    const labels = item.results.flatMap((r) => r.labels.map((l) => l.name + ' ' + Math.round(l.confidence * 100) + '%'));
    const name = item.source.key.split('/').pop();
    const img = el('img', { alt: name + ': ' + (labels.join(', ') || 'no labels'), width: 320 });
    // The original upright size as the coordinate system: the thumbnail keeps its aspect ratio, so boxes
    // (normalised to the original) and their labels land where they belong, undistorted.
    const W = item.image.width, H = item.image.height, font = Math.max(W, H) / 22;
    const overlay = el('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'boxes', 'aria-hidden': 'true' });
    const boxes = item.results.flatMap((r) => r.instances);
    for (const b of boxes) {
      const x = b.box.x * W, y = b.box.y * H;
      overlay.append(el('g', { class: 'box', 'data-label': b.label },
        el('rect', { x, y, width: b.box.width * W, height: b.box.height * H, 'vector-effect': 'non-scaling-stroke' }),
        el('text', { x: x + font * 0.2, y: Math.max(font, y - font * 0.25), 'font-size': font }, b.label)));
    }
    const frame = el('div', { class: 'frame' }, img, overlay);
    const tags = boxes.map((b) => el('li', {}, b.label + ' ' + Math.round(b.confidence * 100) + '% at (' +
      Math.round(b.box.x * 100) + '%, ' + Math.round(b.box.y * 100) + '%)'));
    const caption = el('figcaption', {},
      el('strong', {}, name), item.decision ? el('span', { class: 'decision ' + item.decision }, item.decision) : '',
      el('p', {}, labels.join(', ')),
      boxes.length ? el('details', {}, el('summary', {}, boxes.length + ' detection' + (boxes.length > 1 ? 's' : '')), el('ul', {}, ...tags)) : '');
    list.append(el('li', { class: 'card', 'data-id': item.id }, el('figure', {}, frame, caption)));
    thumbnail(item.id, name, img, frame);
  }
}

const pct = (x) => Math.round(x * 100) + '%';

/** One reason in words: an NSFW category, a label rule, or a text rule. */
function reasonText(r) {
  if (r.rule === 'text') return 'text "' + r.match + '" matches "' + r.term + '" (' + r.model + ')';
  if (r.rule) return r.label + ' ' + pct(r.score) + ' ≥ ' + pct(r.threshold) + (r.count ? ', ' + r.count + ' found' : '') + ' (' + r.model + ')';
  return r.category + ' ' + pct(r.score) + ' ≥ ' + pct(r.threshold);
}

function reviewItem(item, onDecided) {
  const name = item.source.key.split('/').pop();
  const heading = 'review-' + item.id;
  const img = el('img', { alt: 'The image ' + name, width: 320 });
  const frame = el('div', { class: 'frame' }, img);
  // The visible word starts each accessible name (WCAG 2.5.3); the file name tells the buttons of items apart.
  const allow = el('button', { type: 'button', class: 'allow', 'aria-label': 'Allow ' + name }, 'Allow');
  const block = el('button', { type: 'button', class: 'block', 'aria-label': 'Block ' + name }, 'Block');
  const waited = (Date.now() - Date.parse(item.queuedAt)) / 1000;
  const li = el('li', { class: 'card review', 'data-id': item.id, 'aria-labelledby': heading },
    frame,
    el('div', {},
      el('h2', { id: heading }, name),
      el('dl', {},
        el('dt', {}, 'Source key'), el('dd', {}, el('code', {}, item.source.bucket + '/' + item.source.key)),
        el('dt', {}, 'Why review'), el('dd', {}, el('ul', { class: 'reasons' }, ...item.reasons.map((r) => el('li', {}, reasonText(r))))),
        el('dt', {}, 'Labels'), el('dd', {}, item.labels.map((l) => l.name + ' ' + pct(l.confidence)).join(', ') || 'none'),
        el('dt', {}, 'Waiting'), el('dd', {}, el('time', { datetime: item.queuedAt, title: item.queuedAt }, age(waited)))),
      el('div', { class: 'actions', role: 'group', 'aria-label': 'Decision on ' + name }, allow, block)));
  const decide = async (decision) => {
    allow.disabled = block.disabled = true;
    try {
      await api('/v1/reviews/' + encodeURIComponent(item.id), 'json', { decision });
      onDecided(li, decision + 'ed ' + name + '.');
    } catch (e) {
      // Someone else decided it meanwhile: it is no longer this reviewer's to decide.
      if (e.status === 409) onDecided(li, name + ': ' + e.message);
      else { allow.disabled = block.disabled = false; status('Could not decide ' + name + ': ' + e.message); }
    }
  };
  allow.addEventListener('click', () => decide('allow'));
  block.addEventListener('click', () => decide('block'));
  thumbnail(item.id, name, img, frame);
  return li;
}

async function reviews() {
  const me = await header();
  if (!me.scopes.includes('review')) {
    status('This key has no "review" scope: the review queue needs one.');
    return;
  }
  const list = document.getElementById('reviews');
  const left = (n) => (n ? n + ' waiting for review' : 'Nothing waiting for review');
  let pending = 0;
  // A decided item leaves the list; focus moves to the next item's first button (or the heading), so a
  // keyboard user continues where they were instead of at the top of the page.
  const onDecided = (li, message) => {
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    pending = Math.max(0, pending - 1);
    status(message.charAt(0).toUpperCase() + message.slice(1) + ' ' + left(pending) + '.');
    (next ? next.querySelector('button') : document.getElementById('reviews-h')).focus();
  };
  const load = async () => {
    const r = await api('/v1/ui/reviews?limit=40');
    pending = r.pending;
    list.replaceChildren(...r.items.map((item) => reviewItem(item, onDecided)));
    status(left(pending) + (r.pending > r.items.length ? ' (showing the oldest ' + r.items.length + ')' : '') + '.');
  };
  document.getElementById('refresh').addEventListener('click', () => load().catch((e) => status('Could not refresh: ' + e.message)));
  await load();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows a Server-Sent Events stream with fetch rather than EventSource: EventSource cannot send the key's
 * Authorization header, and putting the key (or a token) in the URL would leave it in access logs and history.
 * Reconnects with Last-Event-ID after a dropped connection; ends on 204 or when onEvent returns true.
 */
async function follow(path, onEvent, onState) {
  let lastId;
  for (;;) {
    const headers = { authorization: 'Bearer ' + key(), accept: 'text/event-stream' };
    if (lastId) headers['last-event-id'] = lastId;
    try {
      const res = await fetch(path, { headers });
      if (res.status === 401) return signOut();
      if (res.status === 204) return;
      if (!res.ok) {
        const message = (await res.json().catch(() => ({}))).error?.message || res.statusText;
        // A client error (no such batch, no scope) does not go away by asking again; a rate limit (429) does.
        if (res.status < 500 && res.status !== 429) return onState('failed', new Error(message));
        throw new Error(message);
      }
      onState('live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += chunk.value.replace(/\r\n?/g, '\n');
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop();
        for (const block of blocks) {
          const fields = { data: [] };
          for (const line of block.split('\n')) {
            const m = /^([a-z]+): ?(.*)$/.exec(line);
            if (!m) continue;
            if (m[1] === 'data') fields.data.push(m[2]); else fields[m[1]] = m[2];
          }
          if (fields.data.length === 0) continue;
          if (fields.id !== undefined) lastId = fields.id;
          if (onEvent({ id: fields.id, event: fields.event, data: JSON.parse(fields.data.join('\n')) })) return;
        }
      }
      onState('reconnecting', new Error('the stream ended'));
    } catch (e) {
      onState('reconnecting', e);
    }
    await sleep(2000);
  }
}

function batchSource(b) {
  return b.source.bucket + '/' + (b.source.manifestKey !== undefined ? b.source.manifestKey + ' (manifest)' : b.source.prefix);
}

/** Items finished and the number there is to finish (undefined while the listing has not queued anything yet). */
function batchProgress(b) {
  const done = b.counts.completed + b.counts.failed;
  return { done, total: b.counts.queued > 0 ? b.counts.queued : undefined };
}

async function batches() {
  await header();
  const { batches: list } = await api('/v1/batches?limit=50');
  status(list.length ? list.length + ' batches' : 'No batches for this tenant yet.');
  document.querySelector('#batches-table tbody').replaceChildren(...list.map((b) => {
    const p = batchProgress(b);
    return el('tr', { 'data-id': b.id },
      el('th', { scope: 'row' }, el('a', { href: '/ui/batches/' + encodeURIComponent(b.id) }, el('code', {}, b.id))),
      el('td', {}, batchSource(b)), el('td', {}, b.status),
      el('td', {}, p.total === undefined ? '–' : p.done + ' / ' + p.total),
      el('td', {}, el('time', { datetime: b.createdAt }, new Date(b.createdAt).toLocaleString())));
  }));
}

const rows = (table, entries) =>
  document.querySelector(table + ' tbody').replaceChildren(...(entries.length ? entries.map(([k, v]) =>
    el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, v))) : [el('tr', {}, el('td', { colspan: 2 }, 'none'))]));

function showBatch(b) {
  document.getElementById('main').dataset.status = b.status;
  document.getElementById('batch-status').textContent = b.status + (b.dryRun ? ' (dry run)' : '');
  const p = batchProgress(b);
  const bar = document.getElementById('progress');
  if (p.total === undefined) { bar.removeAttribute('value'); bar.removeAttribute('max'); }
  else { bar.max = p.total; bar.value = p.done; }
  const rate = b.imagesPerSecond ? ', ' + b.imagesPerSecond.toFixed(1) + ' images/s' : '';
  const eta = b.etaSeconds !== null && b.status === 'running' ? ', about ' + age(b.etaSeconds) + ' left' : '';
  document.getElementById('progress-text').textContent = p.total === undefined
    ? 'Listing the source: ' + b.counts.discovered + ' objects found so far.'
    : p.done + ' of ' + p.total + ' items done (' + b.counts.failed + ' failed)' + rate + eta + '.';
  rows('#counts', Object.entries(b.counts));
  rows('#failed-by-code', Object.entries(b.failedByCode));
  rows('#skipped-by-reason', Object.entries(b.skippedByReason));
  const d = [['Source', batchSource(b)], ['Models', b.models.join(', ')], ['Purpose', b.purpose], ['Mode', b.mode],
    ['Created', b.createdAt], ['Started', b.startedAt], ['Finished', b.finishedAt],
    ['Error', b.error && b.error.code + ': ' + b.error.message]].filter(([, v]) => v);
  document.getElementById('details').replaceChildren(...d.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

async function batch() {
  await header();
  const id = decodeURIComponent(location.pathname.split('/').pop());
  document.getElementById('batch-id').textContent = id;
  document.title = 'Batch ' + id + ' · labelq';
  showBatch(await api('/v1/batches/' + encodeURIComponent(id)));
  const live = document.getElementById('live');
  await follow('/v1/batches/' + encodeURIComponent(id) + '/events', (e) => {
    showBatch(e.data);
    // Status changes are announced; progress is not (the bar and its text carry it), to keep screen readers calm.
    if (e.event === 'status') status('Batch ' + e.data.status + '.');
    return ['completed', 'cancelled', 'failed'].includes(e.data.status);
  }, (state, e) => {
    live.textContent = state === 'live' ? '(live)'
      : state === 'reconnecting' ? '(reconnecting: ' + e.message + ')' : '(no live updates: ' + e.message + ')';
    if (state === 'failed') status('Could not follow the batch: ' + e.message);
  });
  if (live.textContent === '(live)') live.textContent = '';
}

const run = { login, overview, gallery, batches, batch, reviews }[page];
if (page !== 'login' && !key()) location.assign('/ui/login');
else if (run) run().catch((e) => status('Could not load: ' + e.message));
`;

export const APP_CSS = `:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --accent: #0b5cad; --bad: #b3261e; --ok: #1a7f37; font-family: system-ui, sans-serif; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --bg: #111418; --card: #1b2027; --accent: #7ab7ff; --bad: #ff8a80; --ok: #7ee2a0; } }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: var(--card); padding: .5rem; }
header nav { display: flex; justify-content: space-between; align-items: center; padding: .5rem 1rem; background: var(--card); border-bottom: 1px solid #8884; }
header ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
a { color: var(--accent); } a[aria-current="page"] { font-weight: 700; text-decoration: none; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
.card { overflow-x: auto; background: var(--card); border-radius: .5rem; padding: 1rem; margin-bottom: 1rem; box-shadow: 0 1px 2px #0002; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; } caption { text-align: left; font-size: .9rem; opacity: .8; }
th, td { padding: .25rem .5rem; border-bottom: 1px solid #8883; text-align: right; } th[scope="row"], thead th:first-child { text-align: left; }
.bars { width: 100%; height: 8rem; } .bars .ok { fill: var(--ok); } .bars .bad { fill: var(--bad); }
.gallery { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 1rem; }
.gallery figure { margin: 0; } .frame { position: relative; display: inline-block; max-width: 100%; }
.frame img { display: block; max-width: 100%; height: auto; background: #8882; min-height: 4rem; }
.boxes { position: absolute; inset: 0; width: 100%; height: 100%; } .boxes rect { fill: none; stroke: #ffd400; stroke-width: 2; } .boxes text { fill: #ffd400; paint-order: stroke; stroke: #000; stroke-width: 2px; stroke-opacity: .8; font-weight: 700; }
.decision { margin-left: .5rem; padding: 0 .4rem; border-radius: .25rem; border: 1px solid currentColor; font-size: .8rem; }
.reviews { list-style: none; padding: 0; } .review { display: grid; grid-template-columns: minmax(10rem, 20rem) 1fr; gap: 1rem; }
.review h2 { margin: 0 0 .5rem; font-size: 1.1rem; overflow-wrap: anywhere; } .review dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: 0 0 .8rem; }
.review dt { font-weight: 600; } .review dd { margin: 0; overflow-wrap: anywhere; } .reasons { margin: 0; padding-left: 1.1rem; }
.actions { display: flex; gap: .5rem; } .actions .allow { border: 2px solid var(--ok); } .actions .block { border: 2px solid var(--bad); }
@media (max-width: 40rem) { .review { grid-template-columns: 1fr; } }
progress { width: 100%; height: 1.4rem; } .batch-status { font-weight: 700; text-transform: capitalize; }
.details { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; } .details dt { font-weight: 600; } .details dd { margin: 0; overflow-wrap: anywhere; }
.decision.block { color: var(--bad); } .decision.allow { color: var(--ok); }
label { display: block; font-weight: 600; } input { font: inherit; padding: .4rem; width: 100%; max-width: 30rem; box-sizing: border-box; }
button { font: inherit; padding: .3rem .8rem; cursor: pointer; } .error { color: var(--bad); } .help { font-size: .9rem; opacity: .8; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
`;

/** The tab icon (a labelled box). */
export const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1.5" y="3.5" width="13" height="10" ' +
  'fill="none" stroke="#ffb000" stroke-width="2"/><rect x="1" y="1" width="7" height="3" fill="#ffb000"/></svg>';
