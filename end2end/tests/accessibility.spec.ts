import AxeBuilder from '@axe-core/playwright';
import { expect, Page, test } from '@playwright/test';
import { approve, registerVersion, reportRun, settled, signInAs, uniqueGroup } from './helpers';

// WCAG 2.2 AA, as axe-core checks it, on every page the portal has, signed out and signed in,
// in each state a page has something different to show. Runs with and without JavaScript.

const wcag = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

// Each check runs axe over a whole page (and without JavaScript opens it again in a second
// browser context): a dozen pages in one walk take half a minute here, more on a busy machine.
test.setTimeout(180_000);

/**
 * Runs axe-core on what `page` shows. axe is a script: without JavaScript, the same address
 * (and cookies) is opened in a browser that runs scripts but is refused the portal's own, so
 * the page checked is the server-rendered one a browser without JavaScript shows.
 */
async function expectAccessible(page: Page, what: string) {
  const scripted = test.info().project.use.javaScriptEnabled !== false;
  const context = scripted ? null : await page.context().browser()!.newContext({
    baseURL: test.info().project.use.baseURL,
    javaScriptEnabled: true,
    storageState: await page.context().storageState(),
  });
  let checked = page;
  if (context) {
    await context.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
    checked = await context.newPage();
    await checked.goto(page.url());
  }
  const { violations } = await new AxeBuilder({ page: checked }).withTags(wcag).analyze();
  await context?.close();
  const found = violations.map((violation) =>
    `${violation.id}: ${violation.help}\n` +
    violation.nodes.slice(0, 5).map((node) => `      ${node.target.join(' ')}: ${node.failureSummary ?? ''}`).join('\n'));
  expect(found, `WCAG 2.2 AA on ${what}`).toEqual([]);
}

async function visit(page: Page, testInfo: Parameters<typeof settled>[1], path: string) {
  await page.goto(path);
  await settled(page, testInfo);
  await expectAccessible(page, path);
}

test('every page signed out meets WCAG 2.2 AA', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('a11y-out');
  await registerVersion(request, group, { auc: 0.91 }, 'a');
  for (const path of ['/', '/sign-in', '/models', `/models/${group}`, `/models/${group}/versions/1`, '/no-such-page']) {
    await visit(page, testInfo, path);
  }
});

test('every page an approver sees meets WCAG 2.2 AA, from the inbox to a recorded signature', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('a11y');
  await registerVersion(request, group, { auc: 0.91, log_loss: 0.34 }, 'a');
  await page.goto('/sign-in');
  await signInAs(page, testInfo, 'alice');
  await approve(page, testInfo, group, 1, 'dev');
  // The page after a signature: its status message, the signature line and its local time.
  await expect(page.getByRole('status')).toContainText('Your signature for dev is recorded.');
  await expectAccessible(page, 'a version page after a signature');
  await reportRun(request, group, 1, 'dev', 0.905);
  await registerVersion(request, group, { auc: 0.93, log_loss: 0.31 }, 'b');

  for (const path of ['/inbox', `/inbox?q=${group}`, '/mine', '/models', `/models?q=${group}`, `/models/${group}`,
    `/models/${group}/history`, '/notifications', `/models/${group}/versions/1?environment=test`,
    `/models/${group}/versions/1/record`]) {
    await visit(page, testInfo, path);
  }
  // The review page with its evidence: the comparison with what is live, the diff and charts.
  await visit(page, testInfo, `/models/${group}/versions/2?environment=dev`);
  await expect(page.getByRole('heading', { name: 'Compared with what is live in dev' })).toBeVisible();

  // A refusal shown in the page (a rejection needs a reason).
  await page.getByRole('button', { name: 'Reject dev' }).click();
  await expect(page.getByRole('alert')).toContainText('Not recorded');
  await expectAccessible(page, 'a refused decision');

  // The confirmation step of a signature.
  await page.getByLabel('Reason for dev').fill('Better on every metric');
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await expect(page.getByRole('heading', { name: 'Confirm your signature' })).toBeVisible();
  await settled(page, testInfo);
  await expectAccessible(page, 'the confirmation step');
});

test('the pages a data scientist sees meet WCAG 2.2 AA, the reviews included', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('a11y-ds');
  await registerVersion(request, group, { auc: 0.91 }, 'a');
  await page.goto('/sign-in');
  await signInAs(page, testInfo, 'dana');
  for (const path of ['/mine', `/models/${group}/versions/1`, '/notifications', '/inbox', '/reviews/trail',
    '/reviews/access', '/reviews/access?from=2026-01-01&to=2026-12-31']) {
    await visit(page, testInfo, path);
  }
});

test('keyboard focus is always visible', async ({ page, request }, testInfo) => {
  test.skip(testInfo.project.use.javaScriptEnabled === false, 'the probe reads computed styles with a script; the styles are the same without one');
  const group = uniqueGroup('a11y-focus');
  await registerVersion(request, group, { auc: 0.91 }, 'a');
  await page.goto(`/models/${group}/versions/1`);
  await settled(page, testInfo);
  await signInAs(page, testInfo, 'alice');
  // Every link, button and field on the review page draws a focus indicator when reached by Tab.
  const seen = new Set<string>();
  for (let press = 0; press < 60; press++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (!element || element === document.body) return null;
      const style = getComputedStyle(element);
      return {
        name: `${element.tagName.toLowerCase()} ${(element.textContent ?? '').trim().slice(0, 40)}`,
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      };
    });
    if (!focused) break;
    expect(focused.outline, `focus indicator on ${focused.name}`).toBe(true);
    if (seen.has(focused.name)) break;
    seen.add(focused.name);
  }
  expect(seen.size).toBeGreaterThan(5);
});

test('the signed record prints each signature and not the portal around it', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('print');
  await registerVersion(request, group, { auc: 0.91 }, 'a');
  await page.goto('/sign-in');
  await signInAs(page, testInfo, 'alice');
  await approve(page, testInfo, group, 1, 'dev');
  await page.goto(`/models/${group}/versions/1`);
  await page.getByRole('link', { name: 'The signed record, for printing' }).click();
  await settled(page, testInfo);
  await page.emulateMedia({ media: 'print' });
  await expect(page.getByRole('heading', { name: 'Approved dev' })).toBeVisible();
  await expect(page.getByText('Approved for release to dev')).toBeVisible();
  await expect(page.getByText('Yes: version 1 in the registry is as it was signed.')).toBeVisible();
  await expect(page.locator('header.top')).toBeHidden();
  await expect(page.getByText('Print this page with your browser')).toBeHidden();
});
