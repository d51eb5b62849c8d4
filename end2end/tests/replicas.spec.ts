import { type APIRequestContext, expect, type Page, test } from '@playwright/test';
import {
  boto3,
  emailsAbout,
  eventsApiKey,
  openVersion,
  pipelineAuth,
  register,
  replicaApprovers,
  confirmSignature,
  signInAs,
  stateChange,
  step,
  uniqueGroup,
} from './helpers';

// Runs in the `replicas` project only: two AWS-backend replicas behind one load balancer
// (end2end/replicas/balancer.mjs), sharing moto, maildev and the session key. Each request
// here names the replica it goes to, as `x-replica: 0` or `1`.

function onReplica(page: Page, replica: number) {
  return page.setExtraHTTPHeaders({ 'x-replica': String(replica) });
}

async function resolveOn(request: APIRequestContext, replica: number, group: string) {
  return request.get(`/api/v1/models/${group}/environments/dev`, {
    headers: { ...pipelineAuth, 'x-replica': String(replica) },
  });
}

test('a person signed in on one replica is signed in on the other, where a decision shows and resolves', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('replicas');
  await register(request, group, 'dana');
  // Replica 0 has read "nothing live in dev" and caches it.
  expect((await resolveOn(request, 0, group)).status()).toBe(404);

  await onReplica(page, 0);
  await openVersion(page, testInfo, group);
  await signInAs(page, testInfo, 'alice');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'PendingManualApproval');

  // The same session cookie, the other replica: still Alice, who decides there.
  await onReplica(page, 1);
  await openVersion(page, testInfo, group);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await page.getByLabel('Reason for dev').fill('Decided on the second replica');
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(page, testInfo, 'alice');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'Approved');

  await onReplica(page, 0);
  await openVersion(page, testInfo, group);
  await expect(step(page, 'dev')).toContainText('Decided on the second replica');
  // Pipelines asking replica 0 see the decision once its cache interval (5 s) has passed.
  await expect
    .poll(async () => (await resolveOn(request, 0, group)).status(), { timeout: 15_000 })
    .toBe(200);
  expect((await (await resolveOn(request, 0, group)).json()).approved_by.name).toBe('Alice Approver');
});

test('an event delivered to both replicas sends one e-mail', async ({ request }) => {
  const group = uniqueGroup('replicated-event');
  const version = Number(boto3('register_in_sagemaker.py', group));
  for (const replica of [0, 1, 0, 1]) {
    const answer = await request.post('/api/v1/events/sagemaker', {
      data: stateChange(group, version),
      headers: { 'x-api-key': eventsApiKey, 'x-replica': String(replica) },
    });
    expect(answer.status(), await answer.text()).toBe(202);
  }
  const toReplicaApprovers = async () =>
    (await emailsAbout(request, group)).filter((mail) => mail.to.some((to) => to.address === replicaApprovers));
  await expect.poll(async () => (await toReplicaApprovers()).length, { timeout: 15_000 }).toBe(1);
  // Both replicas' delivery workers have polled the outbox several times since.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const mails = await toReplicaApprovers();
  expect(mails).toHaveLength(1);
  expect(mails[0].subject).toBe(`[Countersign] ${group} version ${version} awaits approval for dev`);
});

test('of fifty simultaneous approvals sent to both replicas, exactly one is applied', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('replicas-race');
  await register(request, group, 'dana');
  await onReplica(page, 0);
  await openVersion(page, testInfo, group);
  await signInAs(page, testInfo, 'alice');

  // Fifty decisions chosen and confirmed one by one, as the forms post them with Alice's
  // session cookie, each keeping its own pending signature...
  const session = (await page.context().cookies()).find((cookie) => cookie.name === 'countersign_session')!;
  const confirmed: { cookie: string; digest: string }[] = [];
  for (let i = 0; i < 50; i++) {
    const headers = { accept: 'application/json', 'x-replica': String(i % 2) };
    const chosen = await page.request.post('/rpc/prepare_signature', {
      form: { group, version: '1', environment: 'dev', verdict: 'approve', reason: `attempt ${i}` },
      headers,
    });
    expect(chosen.status(), await chosen.text()).toBe(200);
    const pending = chosen.headersArray().find((h) => h.name.toLowerCase() === 'set-cookie' && h.value.startsWith('countersign_signing='))!;
    const cookie = `countersign_session=${session.value}; ${pending.value.split(';')[0]}`;
    const review = await request.post('/rpc/review_pending', { form: { group, version: '1' }, headers: { ...headers, cookie } });
    expect(review.status(), await review.text()).toBe(200);
    confirmed.push({ cookie, digest: (await review.json()).record_digest });
  }
  // ...then all signed at once, alternating replicas.
  const attempts = confirmed.map(({ cookie, digest }, i) =>
    request.post('/rpc/sign', {
      form: { group, version: '1', record_digest: digest },
      headers: { accept: 'application/json', 'x-replica': String(i % 2), cookie },
    }),
  );
  const answers = await Promise.all(attempts);
  const statuses = answers.map((answer) => answer.status());
  expect(statuses.filter((status) => status === 200), String(statuses)).toHaveLength(1);
  // Every other one is told someone got there first (a conflict, or the step already decided).
  expect(statuses.every((status) => status === 200 || status === 409), String(statuses)).toBe(true);
  const winner = statuses.indexOf(200);

  for (const replica of [0, 1]) {
    const history = await request.get(`/api/v1/models/${group}/history`, {
      headers: { ...pipelineAuth, 'x-replica': String(replica) },
    });
    const decisions = (await history.json()).decisions;
    expect(decisions).toHaveLength(1);
    expect(decisions[0].reason).toBe(`attempt ${winner}`);
  }
  await expect
    .poll(async () => (await (await resolveOn(request, 1, group)).json()).decision_id, { timeout: 15_000 })
    .toBeTruthy();
});
