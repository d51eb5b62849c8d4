import { expect, test } from '@playwright/test';
import { approveDevByKeyboard, confirmSignature, openVersion, pipelineAuth, register, settled, signInAs, step, uniqueGroup } from './helpers';

test('a data scientist sees their pending version and cannot decide it', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('churn');
  await register(request, group, 'dana');

  await page.goto(`/models/${group}`);
  await signInAs(page, testInfo, 'dana');
  await expect(page).toHaveURL(new RegExp(`/models/${group}$`));
  const row = page.getByRole('row', { name: /Version 1/ });
  await expect(row).toContainText('Pending approval');
  await expect(row).toContainText('Dana Scientist');

  await row.getByRole('link', { name: 'Version 1' }).click();
  await settled(page, testInfo);
  await expect(step(page, 'dev')).toContainText('Pending approval');
  await expect(step(page, 'test')).toContainText('Not requested');
  await expect(page.getByText('You cannot decide dev: you are not in an approver group for dev.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Approve dev' })).toHaveCount(0);
});

test('an approver signs in from a deep link, approves dev with a reason, and the API resolves it', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('fraud');
  await register(request, group, 'dana');

  await openVersion(page, testInfo, group);
  await expect(page.getByRole('heading', { name: 'Sign in to continue' })).toBeVisible();
  await signInAs(page, testInfo, 'alice');
  await expect(page).toHaveURL(new RegExp(`/models/${group}/versions/1$`));

  await page.getByLabel('Reason for dev').fill('Offline AUC beats the baseline');
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(page, testInfo, 'alice');

  const dev = step(page, 'dev');
  await expect(dev).toHaveAttribute('data-state', 'Approved');
  await expect(dev).toContainText('Approved dev by Alice Approver');
  await expect(dev).toContainText('Offline AUC beats the baseline');
  await expect(dev).toContainText('Signed: Approved for release to dev');
  // The signature's time in UTC, and with the page's script the viewer's own time beside it.
  await expect(dev.locator('.signature time')).toContainText('UTC');
  if (testInfo.project.use.javaScriptEnabled !== false) {
    await expect(dev.locator('.local-time')).toContainText('your time:');
  }
  await expect(step(page, 'test')).toHaveAttribute('data-state', 'PendingManualApproval');
  await expect(page.getByRole('button', { name: 'Approve dev' })).toHaveCount(0);

  const resolved = await request.get(`/api/v1/models/${group}/environments/dev`, { headers: pipelineAuth });
  expect(resolved.status()).toBe(200);
  const body = await resolved.json();
  expect(body.model_package_version).toBe(1);
  expect(body.approved_by.name).toBe('Alice Approver');
});

test('a rejection without a reason is refused with a visible message', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('risk');
  await register(request, group, 'dana');

  await openVersion(page, testInfo, group);
  await signInAs(page, testInfo, 'bob');
  await page.getByRole('button', { name: 'Reject dev' }).click();

  await expect(page.getByRole('alert')).toContainText('a rejection needs a reason');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'PendingManualApproval');

  await page.getByLabel('Reason for dev').fill('Training data leaks the label');
  await page.getByRole('button', { name: 'Reject dev' }).click();
  await confirmSignature(page, testInfo, 'bob');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'Rejected');
  await expect(step(page, 'dev')).toContainText('Training data leaks the label');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Rejected');
});

test('the registrant cannot approve their own version', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('pricing');
  await register(request, group, 'alice');

  await openVersion(page, testInfo, group);
  await signInAs(page, testInfo, 'alice');
  await expect(page.getByText('You cannot decide dev: you registered this version, so someone else must approve it for dev.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Approve dev' })).toHaveCount(0);
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'PendingManualApproval');
});

test('unknown pages and versions get a friendly 404', async ({ page }, testInfo) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByText('There is no page at this address.')).toBeVisible();

  await signInAs(page, testInfo, 'bob');
  const missing = await page.goto(`/models/${uniqueGroup('nothing')}/versions/3`);
  expect(missing?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('a decision taken meanwhile by someone else is refused, and the typed reason is kept', async ({ browser, request }, testInfo) => {
  const group = uniqueGroup('ranking');
  await register(request, group, 'dana');
  const contextOptions = {
    baseURL: testInfo.project.use.baseURL,
    javaScriptEnabled: testInfo.project.use.javaScriptEnabled,
  };
  const alicePage = await (await browser.newContext(contextOptions)).newPage();
  const bobPage = await (await browser.newContext(contextOptions)).newPage();
  for (const [page, who] of [[alicePage, 'alice'], [bobPage, 'bob']] as const) {
    await openVersion(page, testInfo, group);
    await signInAs(page, testInfo, who);
  }

  await alicePage.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(alicePage, testInfo, 'alice');
  await expect(step(alicePage, 'dev')).toHaveAttribute('data-state', 'Approved');

  // Bob's page still offers the form he opened before Alice decided.
  await bobPage.getByLabel('Reason for dev').fill('I checked the drift report');
  await bobPage.getByRole('button', { name: 'Approve dev' }).click();
  await expect(bobPage.getByRole('alert')).toContainText('dev is already Approved; a decided step is not decided again');
  if (testInfo.project.use.javaScriptEnabled !== false) {
    await expect(bobPage.getByLabel('Reason for dev')).toHaveValue('I checked the drift report');
  }
  const log = await request.get(`/api/v1/models/${group}/environments/dev`, { headers: pipelineAuth });
  expect((await log.json()).approved_by.name).toBe('Alice Approver');
});

test('the whole signing ceremony works from the keyboard alone', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('keyboard');
  await register(request, group, 'dana');
  await openVersion(page, testInfo, group);
  await signInAs(page, testInfo, 'alice');

  await approveDevByKeyboard(page, testInfo, 'Checked from the keyboard');
});
