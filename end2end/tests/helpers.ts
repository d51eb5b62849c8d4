import { APIRequestContext, expect, Locator, Page, TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const people = {
  alice: 'Alice Approver',
  bob: 'Bob Reviewer',
  dana: 'Dana Scientist',
} as const;

export type Person = keyof typeof people;

/** A model group of the test's own, so specs never see each other's versions. */
export function uniqueGroup(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * The pipelines' static API token. Portals with SSO require a token (configured with its
 * digest in playwright.config.ts); the laptop-style portals take any or none.
 */
export const pipelineToken = 'cst_end-to-end-pipeline-token-0123456789';
export const pipelineAuth = { Authorization: `Bearer ${pipelineToken}` };

/** Registers a version through the pipeline API, as a training pipeline does. */
export async function register(request: APIRequestContext, group: string, by: Person) {
  const response = await request.post(`/api/v1/models/${group}/versions`, {
    headers: pipelineAuth,
    data: {
      image_uri: `registry.example/${group}:1`,
      model_data_url: `s3://models/${group}/1/model.tar.gz`,
      description: 'trained by the end-to-end suite',
      metrics: { auc: 0.91, f1: 0.8 },
      registered_by: { subject: by, name: people[by], email: `${by}@example.com` },
    },
  });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}

/**
 * Waits until the page is interactive the way this project runs it. The debug WASM is large
 * and three portals share two cores, so hydration gets more time than other expectations.
 */
export async function settled(page: Page, testInfo: TestInfo) {
  if (testInfo.project.use.javaScriptEnabled !== false) {
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  }
}

/**
 * Signs in, starting from wherever the page is: through the development sign-in where the
 * portal offers it, else as the same person at the OpenID provider (portals on AWS).
 */
export async function signInAs(page: Page, testInfo: TestInfo, who: Person) {
  await page.getByRole('link', { name: 'Sign in' }).first().click();
  const development = page.getByRole('heading', { name: 'Development sign-in' });
  const provider = page.getByRole('button', { name: "Sign in with your organisation's account" });
  await expect(development.or(provider)).toBeVisible();
  if (await provider.isVisible()) {
    await signInThroughProvider(page, testInfo, who);
    return;
  }
  await page.getByRole('button', { name: `Sign in as ${people[who]}` }).click();
  await settled(page, testInfo);
}

export async function openVersion(page: Page, testInfo: TestInfo, group: string, version = 1) {
  await page.goto(`/models/${group}/versions/${version}`);
  await settled(page, testInfo);
}

export function step(page: Page, environment: string) {
  return page.getByRole('list', { name: 'Promotion track' }).locator(`li[data-environment="${environment}"]`);
}

/** The second portal, which signs in through the OpenID provider (see playwright.config.ts). */
export const ssoURL = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;

/** Signs in through the provider's own login and consent pages, starting from our sign-in page. */
export async function signInThroughProvider(page: Page, testInfo: TestInfo, login: string) {
  await page.getByRole('button', { name: "Sign in with your organisation's account" }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password works here');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await settled(page, testInfo);
}

/**
 * The confirmation step a decision leads to: checks it names `who` as the signer, then signs,
 * signing in again first where the portal asks (the development sign-in's chooser, or the
 * provider's login page as `who`'s login name), and lands back on the version page.
 */
export async function confirmSignature(page: Page, testInfo: TestInfo, who: string) {
  await expect(page.getByRole('heading', { name: 'Confirm your signature' })).toBeVisible();
  await settled(page, testInfo);
  const name = people[who as Person];
  if (name) {
    await expect(page.locator('dl.signed-record')).toContainText(name);
  }
  const sign = page.getByRole('button', { name: /^Sign: / });
  const again = page.getByRole('button', { name: /^Sign in again and sign: / });
  await expect(sign.or(again)).toBeVisible();
  if (await sign.isVisible()) {
    await sign.click();
  } else {
    await again.click();
    const chooser = page.getByRole('heading', { name: 'Sign in again to sign' });
    const provider = page.locator('input[name="login"]');
    await expect(chooser.or(provider)).toBeVisible();
    if (await chooser.isVisible()) {
      await page.getByRole('button', { name: `Sign in as ${name}` }).click();
    } else {
      await provider.fill(who);
      await page.locator('input[name="password"]').fill('any password works here');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      const consent = page.getByRole('button', { name: 'Continue' });
      const back = page.getByRole('heading', { name: 'Complete your signature' });
      await expect(consent.or(back)).toBeVisible();
      if (await consent.isVisible()) {
        await consent.click();
      }
    }
    // Back from signing in, nothing is signed until the signer signs.
    await expect(page.getByRole('heading', { name: 'Complete your signature' })).toBeVisible();
    await page.getByRole('button', { name: /^Sign now: / }).click();
  }
  await expect(page.getByText(/Your signature for [a-z-]+ is recorded\./)).toBeVisible();
  await settled(page, testInfo);
}

/** The AWS-backend portal's neighbours: moto (SageMaker, SSM) and maildev (mail). */
export const motoPort = Number(process.env.MOTO_PORT ?? 3195);
export const maildevWebPort = Number(process.env.MAILDEV_WEB_PORT ?? 3198);
export const eventsApiKey = 'end-to-end-events-key-0123456789';

/** Where the replicas behind the balancer (see playwright.config.ts) send approval requests. */
export const replicaApprovers = 'replica-approvers@example.com';

const root = path.resolve(__dirname, '../..');

/** Runs one of end2end/aws's boto3 scripts against moto, as an operator would; its output. */
export function boto3(script: string, ...args: string[]): string {
  return execFileSync(path.join(root, '.tools/venv/bin/python'), [path.join(root, 'end2end/aws', script), ...args], {
    env: { ...process.env, MOTO_URL: `http://127.0.0.1:${motoPort}` },
  }).toString();
}

/**
 * `countersign audit verify` on a downloaded bundle with the key kept apart, as an auditor
 * runs it offline (no configuration, no server): its summary; throws with it on failure.
 */
export function verifyAuditBundle(bundle: string, key: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'countersign-audit-'));
  const file = path.join(dir, 'bundle.json');
  writeFileSync(file, bundle);
  const binary = process.env.E2E_BIN ?? path.join(root, 'target/debug/countersign');
  try {
    return execFileSync(binary, ['audit', 'verify', file, '--key', key], { env: {} }).toString();
  } catch (error) {
    throw new Error(`audit verify failed: ${(error as { stdout?: Buffer }).stdout?.toString()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What SageMaker and SSM hold, read with boto3. */
export function inspect(group: string, version: number, environment: string) {
  return JSON.parse(boto3('aws_state.py', group, String(version), environment));
}

/** The EventBridge event SageMaker emits for a new version. */
export function stateChange(group: string, version: number) {
  return {
    version: '0',
    id: `event-${group}-${version}`,
    'detail-type': 'SageMaker Model Package State Change',
    source: 'aws.sagemaker',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      ModelPackageGroupName: group,
      ModelPackageVersion: version,
      ModelApprovalStatus: 'PendingManualApproval',
      CreationTime: Date.now(),
    },
  };
}

export interface Email {
  subject: string;
  text: string;
  html: string;
  to: { address: string }[];
}

/** The messages maildev holds whose subject mentions `about`. */
export async function emailsAbout(request: APIRequestContext, about: string): Promise<Email[]> {
  const response = await request.get(`http://127.0.0.1:${maildevWebPort}/api/email`);
  const all = (await response.json()) as Email[];
  return all.filter((email) => email.subject.includes(about));
}

/** The fourth portal: the whole seed flow on moto, oidc-provider and maildev. */
export const seedFlowURL = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 3}`;
export const oidcIssuer = `http://127.0.0.1:${Number(process.env.OIDC_PORT ?? 3190)}`;

/** Waits for the one message to `address` whose subject mentions `about`. */
export async function mailTo(request: APIRequestContext, about: string, address: string): Promise<Email> {
  const matching = async () =>
    (await emailsAbout(request, about)).filter((email) => email.to.some((to) => to.address === address));
  await expect.poll(async () => (await matching()).length, { timeout: 20_000, message: `mail to ${address}: ${about}` }).toBe(1);
  return (await matching())[0];
}

/** The review link a notification carries. */
export function reviewLink(email: Email): string {
  const link = email.text.match(/https?:\/\/\S+\/models\/\S+\/versions\/\d+\?environment=[a-z-]+/);
  expect(link, email.text).not.toBeNull();
  return link![0];
}

/** Presses Tab until `target` has the focus (at most `presses` times), then checks it has. */
export async function tabTo(page: Page, target: Locator, presses = 40) {
  for (let pressed = 0; pressed < presses && !(await target.evaluate((el) => el === document.activeElement)); pressed++) {
    await page.keyboard.press('Tab');
  }
  await expect(target).toBeFocused();
}

/**
 * Approves dev on the version page open now by keyboard alone: the reason, the approve
 * button, then the sign button on the confirmation step; the outcome is announced.
 */
export async function approveDevByKeyboard(page: Page, testInfo: TestInfo, reason: string) {
  await page.keyboard.press('Tab');
  await tabTo(page, page.getByLabel('Reason for dev'));
  await page.keyboard.type(reason);
  await tabTo(page, page.getByRole('button', { name: 'Approve dev' }), 5);
  await page.keyboard.press('Enter');

  await expect(page.getByRole('heading', { name: 'Confirm your signature' })).toBeVisible();
  await settled(page, testInfo);
  await expect(page.locator('dl.signed-record')).toContainText(reason);
  await expect(page.locator('dl.signed-record')).toContainText('Approved for release to dev');
  await tabTo(page, page.getByRole('button', { name: 'Sign: approve dev' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('status')).toContainText('Your signature for dev is recorded.');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'Approved');
}

/** Registers a version of `group` by Dana, tagged `tag`, with these metrics. */
export async function registerVersion(request: APIRequestContext, group: string, metrics: Record<string, number>, tag: string) {
  const response = await request.post(`/api/v1/models/${group}/versions`, {
    headers: pipelineAuth,
    data: {
      image_uri: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${group}:${tag}`,
      model_data_url: `s3://ml-models/${group}/${tag}/model.tar.gz`,
      description: `Gradient-boosted trees, retrained on data to ${tag}`,
      metrics,
      metadata: { 'training-data': `s3://ml-data/${group}/${tag}/`, 'feature-set': 'v3' },
      registered_by: { subject: 'dana', name: 'Dana Scientist', email: 'dana@example.com' },
    },
  });
  expect(response.status(), await response.text()).toBe(201);
}

/** Reports a nightly run of `version` in `environment`. */
export async function reportRun(request: APIRequestContext, group: string, version: number, environment: string, auc: number) {
  const response = await request.post(`/api/v1/models/${group}/versions/${version}/reports`, {
    headers: pipelineAuth,
    data: {
      environment,
      run_id: `nightly-${version}-${environment}`,
      metrics: { auc, rows_per_second: 5400 },
      started_at: '2026-11-28T02:00:00Z',
      finished_at: '2026-11-28T02:20:00Z',
      sample_count: 250000,
    },
  });
  expect(response.status(), await response.text()).toBe(201);
}

/** Approves `version` for `environment` with a reason, and signs as Alice. */
export async function approve(page: Page, testInfo: TestInfo, group: string, version: number, environment: string) {
  await page.goto(`/models/${group}/versions/${version}?environment=${environment}`);
  await settled(page, testInfo);
  await page.getByLabel(`Reason for ${environment}`).fill('Offline metrics beat the live model');
  await page.getByRole('button', { name: `Approve ${environment}` }).click();
  await confirmSignature(page, testInfo, 'alice');
}
