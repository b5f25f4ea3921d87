// The dashboard's HTML: server-rendered shells (no data in them, so they need no key) that the one script
// fills from the `/v1` API with the key the login stored in sessionStorage. No build step, no framework:
// a handful of pages do not need one, and the CSP can forbid inline scripts and styles.

export type UiPage = 'overview' | 'gallery' | 'batches' | 'batch' | 'reviews' | 'login';

const TITLES: Record<UiPage, string> = {
  overview: 'Overview',
  gallery: 'Results',
  batches: 'Batches',
  batch: 'Batch',
  reviews: 'Review queue',
  login: 'Sign in',
};

function nav(current: UiPage): string {
  if (current === 'login') return '';
  const link = (page: UiPage, href: string, scope?: string) =>
    `<li${scope !== undefined ? ` data-needs-scope="${scope}" hidden` : ''}><a href="${href}"` +
    // A batch's page is inside Batches.
    `${page === current || (page === 'batches' && current === 'batch') ? ' aria-current="page"' : ''}>` +
    `${TITLES[page]}</a></li>`;
  return `<nav aria-label="Main">
    <ul>
      ${link('overview', '/ui/')}
      ${link('gallery', '/ui/gallery')}
      ${link('batches', '/ui/batches', 'read')}
      ${link('reviews', '/ui/reviews', 'review')}
      <li data-needs-scope="operator" hidden><a href="/ui/queues/">Raw queue (bull-board)</a></li>
    </ul>
    <p class="who"><span id="who" aria-live="polite"></span> <button type="button" id="logout">Sign out</button></p>
  </nav>`;
}

const BODIES: Record<UiPage, string> = {
  login: `<h1>labelq dashboard</h1>
    <form id="login" class="card">
      <label for="key">API key</label>
      <input id="key" name="key" type="password" autocomplete="current-password" required
        aria-describedby="key-help" spellcheck="false">
      <p id="key-help" class="help">Kept in this tab's session storage only; closing the tab forgets it.</p>
      <button type="submit">Sign in</button>
      <p id="login-error" role="alert" class="error"></p>
    </form>`,
  overview: `<h1>Overview</h1>
    <p id="status" role="status" aria-live="polite"></p>
    <section aria-labelledby="depth-h" class="card">
      <h2 id="depth-h">Queue depth</h2>
      <p>Total <strong id="depth-total">–</strong> <span id="paused"></span></p>
      <table id="depth-table"><caption>Unfinished jobs by purpose</caption>
        <thead><tr><th scope="col">Purpose</th><th scope="col">Waiting</th><th scope="col">Delayed</th>
        <th scope="col">Active</th><th scope="col">Depth</th><th scope="col">Oldest waiting</th></tr></thead>
        <tbody></tbody></table>
    </section>
    <section aria-labelledby="tp-h" class="card">
      <h2 id="tp-h">Throughput, last 60 minutes</h2>
      <figure><div id="throughput-chart" class="chart"></div>
      <figcaption id="throughput-summary"></figcaption></figure>
    </section>
    <section aria-labelledby="fail-h" class="card">
      <h2 id="fail-h">Failures by code, last 24 hours</h2>
      <table id="failures-table"><caption>Failed jobs per error code and hour (newest hours right)</caption>
        <thead></thead><tbody></tbody></table>
    </section>`,
  gallery: `<h1>Recent results</h1>
    <p id="status" role="status" aria-live="polite"></p>
    <ul id="gallery" class="gallery"></ul>`,
  batches: `<h1>Batches</h1>
    <p id="status" role="status" aria-live="polite"></p>
    <table id="batches-table"><caption>This tenant's batches, newest first</caption>
      <thead><tr><th scope="col">Batch</th><th scope="col">Source</th><th scope="col">Status</th>
      <th scope="col">Progress</th><th scope="col">Created</th></tr></thead>
      <tbody></tbody></table>`,
  batch: `<p><a href="/ui/batches">All batches</a></p>
    <h1>Batch <code id="batch-id"></code></h1>
    <p id="status" role="status" aria-live="polite"></p>
    <section aria-labelledby="progress-h" class="card">
      <h2 id="progress-h">Progress</h2>
      <p><span id="batch-status" class="batch-status"></span> <span id="live" class="help"></span></p>
      <progress id="progress" aria-labelledby="progress-h" aria-describedby="progress-text"></progress>
      <p id="progress-text"></p>
      <table id="counts"><caption>Items</caption><tbody></tbody></table>
    </section>
    <section aria-labelledby="details-h" class="card">
      <h2 id="details-h">Details</h2>
      <dl id="details" class="details"></dl>
      <table id="failed-by-code"><caption>Failed items by error code</caption><tbody></tbody></table>
      <table id="skipped-by-reason"><caption>Skipped items by reason</caption><tbody></tbody></table>
    </section>`,
  reviews: `<h1 id="reviews-h" tabindex="-1">Review queue</h1>
    <p>Images the moderation policy sent to a person, oldest first. Allow or block each one: the decision is
      recorded in its result document and on the source object's tag, and sent as a <code>review.decided</code>
      webhook.</p>
    <p><span id="status" role="status" aria-live="polite"></span>
      <button type="button" id="refresh">Refresh</button></p>
    <ul id="reviews" class="reviews" aria-labelledby="reviews-h"></ul>`,
};

/** One page: the shell every page shares, its body, and the script and stylesheet (same origin). */
export function renderPage(page: UiPage): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${TITLES[page]} · labelq</title>
  <link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/ui/assets/app.css">
  <script src="/ui/assets/app.js" defer></script>
</head>
<body data-page="${page}">
  <a class="skip" href="#main">Skip to content</a>
  <header>${nav(page)}</header>
  <main id="main">${BODIES[page]}</main>
</body>
</html>
`;
}
