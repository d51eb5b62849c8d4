// What a cold load of each page costs a browser: the bytes Chromium counts on the wire for
// the document and everything it loads (headers included, as DevTools' "transferred"), and
// the time to first contentful paint. A benchmark for `make bench`: it prints, never fails
// on a slow machine.
//
//   node end2end/bench/page-weight.mjs BASE_URL GROUP VERSION
import { chromium } from 'playwright-core';

const [base, group, version] = process.argv.slice(2);
if (!base || !group || !version) {
  console.error('usage: page-weight.mjs BASE_URL GROUP VERSION');
  process.exit(2);
}

const pages = [
  { name: 'version page (signed out)', path: `/models/${group}/versions/${version}`, signedIn: false },
  { name: 'sign-in page', path: '/sign-in', signedIn: false },
  { name: 'version page', path: `/models/${group}/versions/${version}`, signedIn: true },
  { name: 'inbox', path: '/inbox', signedIn: true, fcpGoal: 150 },
  { name: 'your models', path: '/mine', signedIn: true },
  { name: 'model groups', path: '/models', signedIn: true },
  { name: 'group (versions)', path: `/models/${group}`, signedIn: true },
  { name: 'history', path: `/models/${group}/history`, signedIn: true, fcpGoal: 150 },
  { name: 'notifications', path: '/notifications', signedIn: true },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

const kb = (bytes) => (bytes / 1024).toFixed(1).padStart(7);

// The page's first contentful paint: Chromium may record it after the load event on a page
// this small, so it is awaited (NaN if there is none within five seconds).
const firstContentfulPaint = (page) => page.evaluate(() => new Promise((resolve) => {
  new PerformanceObserver((entries) => {
    const paint = entries.getEntriesByName('first-contentful-paint')[0];
    if (paint) resolve(paint.startTime);
  }).observe({ type: 'paint', buffered: true });
  setTimeout(() => resolve(NaN), 5000);
}));

// A page in a new context (an empty cache, as a first visit) with the cache off, as every
// load here is made; counts what its document and all it loads transfer.
const coldPage = async (context) => {
  const page = await context.newPage();
  const devtools = await context.newCDPSession(page);
  await devtools.send('Network.enable');
  await devtools.send('Network.setCacheDisabled', { cacheDisabled: true });
  const transferred = new Map();
  devtools.on('Network.loadingFinished', (event) => transferred.set(event.requestId, event.encodedDataLength));
  return { page, transferred };
};

// The browser's own floor: a page of one paragraph answered by the browser itself, measured
// as the portal's pages are. No page can paint sooner than this on this machine.
{
  const context = await browser.newContext({ baseURL: base });
  await context.route('**/floor', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>floor</title><p>floor</p>' }));
  const { page } = await coldPage(context);
  await page.goto('/floor', { waitUntil: 'load' });
  const fcp = await firstContentfulPaint(page);
  console.log(`   ${'the browser alone (one <p>)'.padEnd(28)}                       first contentful paint ${fcp.toFixed(0).padStart(5)} ms`);
  await context.close();
}
let versionPageBytes = 0;
for (const { name, path, signedIn, fcpGoal } of pages) {
  const context = await browser.newContext({ baseURL: base });
  if (signedIn) {
    await context.request.post('/auth/dev/sign-in', { form: { subject: 'alice', return_to: '/' } });
  }
  const { page, transferred } = await coldPage(context);
  await page.goto(path, { waitUntil: 'load' });
  // The islands' WASM is fetched once the browser is idle: count it too.
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  const fcp = await firstContentfulPaint(page);
  const bytes = [...transferred.values()].reduce((sum, n) => sum + n, 0);
  if (name === 'version page') versionPageBytes = bytes;
  const goal = fcpGoal === undefined ? '' : ` (goal <= ${fcpGoal} ms: ${fcp <= fcpGoal ? 'met' : 'not met'})`;
  console.log(`   ${name.padEnd(28)} ${kb(bytes)} KB in ${String(transferred.size).padStart(2)} requests   first contentful paint ${fcp.toFixed(0).padStart(5)} ms${goal}`);
  await context.close();
}
console.log(`   a cold version page transfers ${kb(versionPageBytes).trim()} KB (target: <= 290 KB)`);
await browser.close();
