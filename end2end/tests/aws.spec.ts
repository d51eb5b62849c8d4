import { type APIRequestContext, expect, type Page, test, type TestInfo } from '@playwright/test';
import {
  boto3,
  emailsAbout,
  eventsApiKey,
  inspect,
  openVersion,
  pipelineAuth,
  register,
  settled,
  confirmSignature,
  signInAs,
  stateChange,
  step,
  uniqueGroup,
} from './helpers';

// Runs in the `aws` project only: the portal on the AWS backend, against moto.

/** Dana registers a version of a new group; Alice approves it for dev in the portal. */
async function approvedForDev(page: Page, request: APIRequestContext, testInfo: TestInfo, prefix: string) {
  const group = uniqueGroup(prefix);
  await register(request, group, 'dana');
  await openVersion(page, testInfo, group);
  await signInAs(page, testInfo, 'alice');
  await page.getByLabel('Reason for dev').fill('Offline AUC beats the baseline');
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(page, testInfo, 'alice');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'Approved');
  return group;
}

test('approving dev in the portal shows in SageMaker and in the SSM parameter pipelines read', async ({ page, request }, testInfo) => {
  const group = await approvedForDev(page, request, testInfo, 'churn');

  const held = inspect(group, 1, 'dev');
  expect(held.ModelApprovalStatus).toBe('Approved');
  expect(held.CustomerMetadataProperties).toMatchObject({
    dev: 'Approved',
    test: 'PendingManualApproval',
    uat: 'PendingManualApproval',
    prod: 'PendingManualApproval',
  });
  expect(held.ApprovalDescription).toContain('Alice Approver <alice@example.com>');
  expect(held.ApprovalDescription).toContain('Offline AUC beats the baseline');
  expect(held.parameter).toMatchObject({
    model_package_group: group,
    model_package_version: 1,
    environment: 'dev',
    image_uri: `registry.example/${group}:1`,
    model_data_url: `s3://models/${group}/1/model.tar.gz`,
    approved_by: { name: 'Alice Approver', email: 'alice@example.com' },
  });
  expect(held.parameter.model_package_arn).toMatch(new RegExp(`:model-package/${group}/1$`));
  expect(Date.parse(held.parameter.approved_at)).not.toBeNaN();

  // The portal's resolve API answers with the same document.
  const resolved = await request.get(`/api/v1/models/${group}/environments/dev`, { headers: pipelineAuth });
  expect(await resolved.json()).toEqual(held.parameter);
});

test('an image swapped in SSM behind the portal is reported on the version and history pages', async ({ page, request }, testInfo) => {
  const group = await approvedForDev(page, request, testInfo, 'swapped');
  const warning = page.getByRole('alert').filter({ hasText: 'Not explained by the decision log' });
  await expect(warning).toHaveCount(0);

  boto3('swap_live_image.py', group, 'dev', 'attacker.example/backdoor:1');
  // The portal caches live values for a few seconds (COUNTERSIGN_RESOLVE_CACHE_SECONDS).
  await expect(async () => {
    await page.reload();
    await expect(warning).toContainText('attacker.example/backdoor:1', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(warning).toContainText('dev: the live value claims decision');

  await page.goto(`/models/${group}/history`);
  await expect(warning).toContainText('attacker.example/backdoor:1');
});

test('a metric changed in SageMaker after signing breaks the signature: the page says so and resolve answers 409', async ({ page, request }, testInfo) => {
  const group = await approvedForDev(page, request, testInfo, 'rebadged');
  await expect(page.getByRole('alert').filter({ hasText: 'Signature no longer matches' })).toHaveCount(0);

  boto3('improve_metric.py', group, '1', 'auc', '0.99');
  const resolved = await request.get(`/api/v1/models/${group}/environments/dev`, { headers: pipelineAuth });
  expect(resolved.status(), await resolved.text()).toBe(409);
  expect((await resolved.json()).code).toBe('signature_mismatch');

  await page.reload();
  await settled(page, testInfo);
  await expect(page.getByRole('alert').filter({ hasText: 'Signature no longer matches' })).toContainText('The approval of dev no longer matches');
  await expect(step(page, 'dev')).toContainText('no longer matches the registry entry');
  await expect(page.getByRole('button', { name: 'Approve test' })).toHaveCount(0);
});

test('a version registered in SageMaker reaches its approvers once by e-mail, and the link leads to the decision', async ({ page, request, browser }, testInfo) => {
  const group = uniqueGroup('sagemaker');
  const version = Number(boto3('register_in_sagemaker.py', group));

  // EventBridge delivers at least once: the same event twice.
  for (let i = 0; i < 2; i++) {
    const answer = await request.post('/api/v1/events/sagemaker', {
      data: stateChange(group, version),
      headers: { 'x-api-key': eventsApiKey },
    });
    expect(answer.status(), await answer.text()).toBe(202);
  }
  const refused = await request.post('/api/v1/events/sagemaker', {
    data: stateChange(group, version),
    headers: { 'x-api-key': 'not-the-key-0123456789' },
  });
  expect(refused.status()).toBe(401);

  await expect.poll(async () => (await emailsAbout(request, group)).length, { timeout: 15_000 }).toBe(1);
  const [mail] = await emailsAbout(request, group);
  expect(mail.subject).toBe(`[Countersign] ${group} version ${version} awaits approval for dev`);
  expect(mail.to[0].address).toBe('ml-leads@example.com');
  expect(mail.text).toContain('auc 0.93');
  const link = mail.text.match(/http:\/\/\S+\?environment=dev/)?.[0];
  expect(link).toBeTruthy();

  // A mail scanner opening the link changes nothing: it lands on the sign-in prompt.
  await page.goto(link!);
  await settled(page, testInfo);
  await expect(page.getByRole('heading', { name: 'Sign in to continue' })).toBeVisible();
  await signInAs(page, testInfo, 'alice');
  await expect(page).toHaveURL(link!);
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'PendingManualApproval');
  await page.getByLabel('Reason for dev').fill('Read the mail, checked the metrics');
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(page, testInfo, 'alice');
  // Its owner metadata names Dana, but anyone allowed to write it could have: she is not
  // established, so one approver more is needed (N3), and the page says why.
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'PendingManualApproval');
  await expect(page.getByTestId('registrant-unverified')).toContainText('declared, not verified');
  const bobPage = await (await browser.newContext({ baseURL: testInfo.project.use.baseURL })).newPage();
  await bobPage.goto(link!);
  await settled(bobPage, testInfo);
  await signInAs(bobPage, testInfo, 'bob');
  await bobPage.getByLabel('Reason for dev').fill('Second pair of eyes');
  await bobPage.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(bobPage, testInfo, 'bob');
  await expect(step(bobPage, 'dev')).toHaveAttribute('data-state', 'Approved');
  expect(inspect(group, version, 'dev').ModelApprovalStatus).toBe('Approved');

  // The registrant (the version's owner metadata) hears of the decision, with the reason.
  const approvedByBob = `${group} version ${version} approved for dev by Bob`;
  await expect.poll(async () => (await emailsAbout(request, approvedByBob)).length, { timeout: 15_000 }).toBe(1);
  const [notice] = await emailsAbout(request, approvedByBob);
  expect(notice.to[0].address).toBe('dana@example.com');
  expect(notice.text).toContain('Second pair of eyes');
  expect((await emailsAbout(request, `awaits approval`)).filter((m) => m.subject.includes(group))).toHaveLength(1);
});

test('a version whose event was lost is found by the reconciliation scan and mailed once', async ({ request }) => {
  const group = uniqueGroup('lost');
  const version = Number(boto3('register_in_sagemaker.py', group));
  await expect.poll(async () => (await emailsAbout(request, group)).length, { timeout: 20_000 }).toBe(1);
  const [mail] = await emailsAbout(request, group);
  expect(mail.subject).toBe(`[Countersign] ${group} version ${version} awaits approval for dev`);
  // Later scans find the same version and send nothing more.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  expect(await emailsAbout(request, group)).toHaveLength(1);
});
