import { APIRequestContext, Browser, expect, Page, test, TestInfo } from '@playwright/test';
import { boto3, confirmSignature, verifyAuditBundle, mailTo, oidcIssuer, reviewLink, seedFlowURL, settled, signInThroughProvider, step, uniqueGroup } from './helpers';

// The product's loop as its users meet it, on the portal wired to moto (SageMaker, SSM),
// oidc-provider (people and pipelines) and maildev: register, e-mail, sign in, approve dev,
// the pipeline resolves and reports, promotion e-mails, test, uat, two distinct approvers for
// prod, resolve prod; then a second version to prod, rolled back; and the history.
test.use({ baseURL: seedFlowURL });
test.setTimeout(300_000);

/** A pipeline's access token, by the client credentials grant. */
async function pipelineToken(request: APIRequestContext, client: string, scope: string): Promise<string> {
  const response = await request.post(`${oidcIssuer}/token`, {
    form: { grant_type: 'client_credentials', scope },
    headers: { Authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}` },
  });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()).access_token;
}

/** Whose login each person's browser signed in with. */
const logins = new Map<Page, string>();

/** A person's own browser, signed in at the provider through the deep link `url`. */
async function signedIn(browser: Browser, testInfo: TestInfo, who: string, url: string): Promise<Page> {
  const page = await (await browser.newContext({ baseURL: seedFlowURL })).newPage();
  await page.goto(url);
  await settled(page, testInfo);
  await page.getByRole('link', { name: 'Sign in' }).first().click();
  await signInThroughProvider(page, testInfo, who);
  await expect(page).toHaveURL((current) => current.pathname === new URL(url).pathname);
  logins.set(page, who);
  return page;
}

async function approve(page: Page, testInfo: TestInfo, url: string, environment: string, reason: string, expected = 'Approved') {
  const who = logins.get(page)!;
  await page.goto(url);
  await settled(page, testInfo);
  await page.getByLabel(`Reason for ${environment}`).fill(reason);
  await page.getByRole('button', { name: `Approve ${environment}` }).click();
  await confirmSignature(page, testInfo, who);
  await expect(step(page, environment)).toHaveAttribute('data-state', expected);
}

test('a version goes from registration to prod with a signature at every step, and prod is rolled back', async ({ browser, request }, testInfo) => {
  const group = uniqueGroup('seed');
  const training = await pipelineToken(request, 'training-pipeline', 'countersign.register');
  const batch = await pipelineToken(request, 'batch-pipeline', 'countersign.report countersign.resolve');
  const api = (token: string) => ({ Authorization: `Bearer ${token}` });
  const register = async (n: number) => {
    const response = await request.post(`/api/v1/models/${group}/versions`, {
      headers: api(training),
      data: {
        image_uri: `registry.example/${group}:${n}`,
        model_data_url: `s3://models/${group}/${n}/model.tar.gz`,
        metrics: { auc: 0.9 + n / 100 },
        registered_by: { subject: 'dana', name: 'Dana Scientist', email: 'dana@example.com' },
      },
    });
    expect(response.status(), await response.text()).toBe(201);
  };
  const resolve = async (environment: string) => {
    const response = await request.get(`/api/v1/models/${group}/environments/${environment}`, { headers: api(batch) });
    expect(response.status(), await response.text()).toBe(200);
    return (await response.json()).model_package_version;
  };
  const report = async (version: number, environment: string, auc: number) => {
    const response = await request.post(`/api/v1/models/${group}/versions/${version}/reports`, {
      headers: api(batch),
      data: {
        environment,
        run_id: `batch-${environment}-${version}`,
        metrics: { auc, rows_per_second: 5400 },
        started_at: '2026-11-26T02:00:00Z',
        finished_at: '2026-11-26T02:20:00Z',
        sample_count: 250000,
      },
    });
    expect(response.status(), await response.text()).toBe(201);
    return (await response.json()).promotion_requested;
  };
  const version = (n: number) => `${seedFlowURL}/models/${group}/versions/${n}`;

  // Registered: the dev approvers are e-mailed a deep link; Alice follows it and signs in.
  await register(1);
  const request1 = await mailTo(request, `${group} version 1 awaits approval for dev`, 'dev-approvers@example.com');
  const alice = await signedIn(browser, testInfo, 'alice', reviewLink(request1));
  await approve(alice, testInfo, reviewLink(request1), 'dev', 'offline metrics are good');
  expect(await resolve('dev')).toBe(1);

  // Each run asks the next environment's approvers, with its metrics.
  expect(await report(1, 'dev', 0.93)).toBe('test');
  const toTest = await mailTo(request, `${group} version 1 ran in dev: promote it to test?`, 'test-approvers@example.com');
  expect(toTest.text).toContain('auc');
  await approve(alice, testInfo, reviewLink(toTest), 'test', 'dev run matches offline');
  expect(await report(1, 'test', 0.92)).toBe('uat');
  const toUat = await mailTo(request, `${group} version 1 ran in test: promote it to uat?`, 'uat-approvers@example.com');
  const bob = await signedIn(browser, testInfo, 'bob', reviewLink(toUat));
  await approve(bob, testInfo, reviewLink(toUat), 'uat', 'test run is stable');
  expect(await report(1, 'uat', 0.92)).toBe('prod');
  const toProd = await mailTo(request, `${group} version 1 ran in uat: promote it to prod?`, 'prod-approvers@example.com');

  // Prod needs two distinct approvers; the first approval is shown as partial.
  const priya = await signedIn(browser, testInfo, 'priya', reviewLink(toProd));
  await approve(priya, testInfo, reviewLink(toProd), 'prod', 'uat sign-off attached', 'PendingManualApproval');
  await expect(step(priya, 'prod')).toContainText('1 of 2 approvals');
  await expect(priya.getByRole('button', { name: 'Approve prod' })).toHaveCount(0);
  const paul = await signedIn(browser, testInfo, 'paul', reviewLink(toProd));
  await approve(paul, testInfo, reviewLink(toProd), 'prod', 'second pair of eyes');
  expect(await resolve('prod')).toBe(1);

  // A second version takes the same path to prod.
  await register(2);
  await approve(alice, testInfo, version(2), 'dev', 'retrained on Q4');
  await approve(alice, testInfo, version(2), 'test', 'fine in test');
  await approve(bob, testInfo, version(2), 'uat', 'fine in uat');
  await approve(priya, testInfo, version(2), 'prod', 'go', 'PendingManualApproval');
  await approve(paul, testInfo, version(2), 'prod', 'go');
  expect(await resolve('prod')).toBe(2);

  // It misbehaves: Priya points prod back to version 1, with a reason.
  await priya.goto(version(1));
  await settled(priya, testInfo);
  await priya.getByLabel('Why return prod to version 1?').fill('latency regression in prod');
  await priya.getByRole('button', { name: 'Roll prod back to version 1' }).click();
  await confirmSignature(priya, testInfo, 'priya');
  expect(await resolve('prod')).toBe(1);
  const incident = await mailTo(request, `${group} version 2 rolled back for prod by Priya Prod`, 'prod-approvers@example.com');
  expect(incident.text).toContain('latency regression in prod');
  expect(incident.to.map((to) => to.address)).toContain('dana@example.com');
  await priya.goto(version(2));
  await settled(priya, testInfo);
  await expect(step(priya, 'prod')).toHaveAttribute('data-state', 'RolledBack');

  // The history shows every step, with names and reasons.
  await priya.goto(`/models/${group}/history`);
  await settled(priya, testInfo);
  const decisions = priya.getByRole('region', { name: 'Every decision, newest first' });
  for (const line of [
    'Rolled back prod to version 1 by Priya Prod',
    'latency regression in prod',
    'Approved dev by Alice Approver',
    'offline metrics are good',
    'Approved uat by Bob Reviewer',
    'Approved prod by Paul Prod',
    'second pair of eyes',
  ]) {
    await expect(decisions).toContainText(line);
  }
  const prodLive = priya.locator('table[data-environment="prod"] tbody tr');
  await expect(prodLive).toHaveCount(3);
  await expect(prodLive.first()).toContainText('live now');
  await expect(prodLive.first()).toContainText('Priya Prod');
  const csv = await priya.request.get(`/models/${group}/export/history.csv`);
  expect(await csv.text()).toContain('rollback,RolledBack,1,Priya Prod');

  // The audit trail: checked on the page, and downloaded and verified offline by the CLI
  // with the key the portal publishes, rules replayed (eleven signed decisions).
  await expect(priya.getByRole('status').filter({ hasText: 'Audit trail verified up to entry' })).toBeVisible();
  const bundle = await (await priya.request.get(`/models/${group}/export/audit.json`)).text();
  const key = (await (await request.get('/api/v1/audit/public-key')).json()).public_key;
  const verified = verifyAuditBundle(bundle, key);
  expect(verified).toContain('the workflow\'s rules hold for 11 decisions');
  expect(verified).toContain('OK');

  // SageMaker and SSM hold the same story (the AWS backend, on moto).
  const history = await request.get(`/api/v1/models/${group}/history`, { headers: api(batch) });
  const signed: { verdict: string; meaning: string; record_digest: string; environment: string; auth_time: string; signed_at: string }[] =
    (await history.json()).decisions;
  // Every decision is an electronic signature: its meaning, the digest of what was signed,
  // and when its signer had signed in at the provider; in prod, again just before signing.
  for (const decision of signed) {
    expect(decision.record_digest).toMatch(/^[0-9a-f]{64}$/);
    const signedInFor = Date.parse(decision.signed_at) - Date.parse(decision.auth_time);
    expect(signedInFor, JSON.stringify(decision)).toBeGreaterThanOrEqual(0);
    if (decision.environment === 'prod') {
      expect(signedInFor, JSON.stringify(decision)).toBeLessThan(30_000);
    }
  }
  expect(signed.find((d) => d.verdict === 'rollback')?.meaning).toBe('Rolled back prod');
  expect(signed.filter((d) => d.environment === 'prod' && d.verdict === 'approve').map((d) => d.meaning)).toContain(
    'Approved for release to prod',
  );
  const verdicts = signed.map((d) => d.verdict);
  expect(verdicts.filter((v: string) => v === 'approve')).toHaveLength(10);
  expect(verdicts.at(-1)).toBe('rollback');

  // SSM holds only what pipelines read, the portal's secrets and each group's newest audit
  // checkpoint; the log, the reports, the e-mails and the sessions are in the DynamoDB table.
  const names = boto3('ssm_names.py', '/seed-flow').trim().split('\n');
  expect(names).toContain(`/seed-flow/${group}/prod`);
  const unexpected = names.filter(
    (name) =>
      !/^\/seed-flow\/[^/_][^/]*\/(dev|test|uat|prod)$/.test(name) &&
      !/^\/seed-flow\/_settings\/(session_key|log_key|audit_signing_key)$/.test(name) &&
      !/^\/seed-flow\/_audit\/[^/]+$/.test(name),
  );
  expect(unexpected).toEqual([]);
});
