import { defineConfig } from '@playwright/test';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { eventsApiKey, maildevWebPort, motoPort, pipelineToken, replicaApprovers } from './tests/helpers';

// Every spec runs twice: hydrated (JavaScript on) and server-rendered only (JavaScript off).
// The portal runs from the binary `cargo test` built and the site scripts/site.sh built, on a
// fresh store, on loopback.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const root = path.resolve(__dirname, '..');
const binary = process.env.E2E_BIN ?? path.join(root, 'target/debug/countersign');
const database = path.join(os.tmpdir(), `countersign-e2e-${process.pid}.db`);
// A second portal signs in through a real OpenID provider (oidc-provider) instead.
const ssoPort = port + 1;
const oidcPort = Number(process.env.OIDC_PORT ?? 3190);
const ssoURL = `http://127.0.0.1:${ssoPort}`;
const ssoDatabase = path.join(os.tmpdir(), `countersign-e2e-sso-${process.pid}.db`);
// A third portal runs on the AWS backend, against a moto server standing in for SageMaker
// and SSM (installed into .tools/venv by scripts/tools.sh test).
const awsPort = port + 2;

const awsURL = `http://127.0.0.1:${awsPort}`;
// A fourth portal runs the whole seed flow: AWS backend on moto, sign-in and pipeline tokens
// from oidc-provider, mail to maildev.
const seedFlowPort = port + 3;
const seedFlowURL = `http://127.0.0.1:${seedFlowPort}`;
// moto answering one request at a time, as DynamoDB serialises transactions
// (scripts/moto-serialised.py); E2E_MOTO_SERVER names another moto_server to run. The
// harness's own variables are not named COUNTERSIGN_*: the portal refuses settings it does
// not know, and its servers inherit this environment.
const motoServer = process.env.E2E_MOTO_SERVER
  ? `'${process.env.E2E_MOTO_SERVER}'`
  : `'${path.join(root, '.tools/venv/bin/python')}' '${path.join(root, 'scripts/moto-serialised.py')}'`;
// The AWS portal mails through a maildev server (SMTP in, REST API out) and takes events.
const maildevSmtpPort = Number(process.env.MAILDEV_SMTP_PORT ?? 3197);
// Portals that require API tokens know the pipelines' token by its digest only.
const pipelineTokens = `e2e-pipeline:register+report+resolve:${createHash('sha256').update(pipelineToken).digest('hex')}`;



/** The AWS backend on the moto server. */
const onMoto = {
  COUNTERSIGN_BACKEND: 'aws',
  AWS_ENDPOINT_URL: `http://127.0.0.1:${motoPort}`,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_EC2_METADATA_DISABLED: 'true',
  COUNTERSIGN_DYNAMODB_CREATE_TABLE: 'true',
};

/** People sign in at the oidc-provider. */
const atTheProvider = {
  COUNTERSIGN_OIDC_ISSUER: `http://127.0.0.1:${oidcPort}`,
  COUNTERSIGN_OIDC_CLIENT_ID: 'countersign',
  COUNTERSIGN_OIDC_CLIENT_SECRET: 'countersign-test-secret',
};

// A fifth setup: two replicas of an AWS-backend portal behind a load balancer
// (end2end/replicas/balancer.mjs), sharing moto, maildev and the session key kept in SSM.
const balancerPort = port + 5;
const balancerURL = `http://127.0.0.1:${balancerPort}`;
const replicaPorts = [port + 6, port + 7];
// A sixth: the portal the README's screenshots are taken from.
const screenshotsPort = port + 8;
const screenshotsURL = `http://127.0.0.1:${screenshotsPort}`;

/** A Countersign server on `listenPort` with a fresh store, configured by `env`. */
/** The people the suite's pipeline registers for (tests/helpers.ts `people`). */
const suitesRegistrants = 'e2e-pipeline=alice@example.com+bob@example.com+dana@example.com';

/**
 * The laptop setup's open API takes a pipeline's word for its registrant, which costs one
 * approver more wherever four-eyes holds (N3). The specs shared with the SSO and AWS portals
 * decide with the approvers they name; cargo's tests hold that rule.
 */
const onTheLaptopAsElsewhere = { COUNTERSIGN_EXTRA_APPROVAL_WITHOUT_REGISTRANT: '' };

function portal(listenPort: number, store: string, env: Record<string, string>) {
  const url = `http://127.0.0.1:${listenPort}`;
  return {
    command: `rm -f '${store}'* && exec '${binary}'`,
    url: `${url}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
    env: {
      COUNTERSIGN_SITE_ROOT: path.join(root, 'target/site'),
      COUNTERSIGN_LOG: 'warn',
      COUNTERSIGN_LISTEN: `127.0.0.1:${listenPort}`,
      COUNTERSIGN_PUBLIC_URL: url,
      COUNTERSIGN_DATABASE: store,
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [['list'], ['./summary-reporter.ts']],
  use: {
    baseURL,
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'off',
    // `make oq` keeps a screenshot of every test as evidence for its report.
    screenshot: process.env.OQ_EVIDENCE === '1' ? 'on' : 'off',
  },
  projects: [
    { name: 'with-js', use: { javaScriptEnabled: true }, testIgnore: /(aws|seed-flow|replicas|screenshots)\.spec\.ts/ },
    { name: 'no-js', use: { javaScriptEnabled: false }, testIgnore: /(aws|seed-flow|replicas|screenshots)\.spec\.ts/ },
    // The README's pictures, from a portal of their own.
    {
      name: 'screenshots',
      use: { javaScriptEnabled: true, baseURL: screenshotsURL },
      testMatch: /screenshots\.spec\.ts/,
    },
    // The product's whole loop, dev to prod and back, as its users meet it.
    {
      name: 'seed-flow',
      use: { javaScriptEnabled: true, baseURL: seedFlowURL },
      testMatch: /seed-flow\.spec\.ts/,
    },
    // The review flow again, and what SageMaker and SSM hold afterwards, on the AWS backend.
    {
      name: 'aws',
      use: { javaScriptEnabled: true, baseURL: awsURL },
      testMatch: /(review|aws)\.spec\.ts/,
    },
    // Two replicas behind a load balancer: what one does, the other sees.
    {
      name: 'replicas',
      use: { javaScriptEnabled: true, baseURL: balancerURL },
      testMatch: /replicas\.spec\.ts/,
    },
  ],
  webServer: [
    // Dana, the data scientist, also reviews the audit trail and access here.
    portal(port, database, {
      ...onTheLaptopAsElsewhere,
      COUNTERSIGN_NOTIFY_DEV: 'ml-leads@example.com',
      COUNTERSIGN_AUDIT_REVIEWERS: 'data-scientists',
    }),
    portal(screenshotsPort, path.join(os.tmpdir(), `countersign-e2e-screenshots-${process.pid}.db`), {
      ...onTheLaptopAsElsewhere,
      COUNTERSIGN_NOTIFY_DEV: 'ml-leads@example.com',
      COUNTERSIGN_NOTIFY_TEST: 'ml-leads@example.com',
      COUNTERSIGN_REQUIRED_APPROVALS_PROD: '2',
    }),
    {
      command: 'node oidc/provider.mjs',
      url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'ignore',
      env: { OIDC_PORT: String(oidcPort), COUNTERSIGN_URL: `${ssoURL},${seedFlowURL},${awsURL},${balancerURL}` },
    },
    portal(ssoPort, ssoDatabase, {
      ...atTheProvider,
      COUNTERSIGN_APPROVERS_DEV: 'approvers-dev-test',
      COUNTERSIGN_APPROVERS_TEST: 'approvers-dev-test',
      COUNTERSIGN_APPROVERS_UAT: 'approvers-dev-test',
      COUNTERSIGN_APPROVERS_PROD: 'approvers-prod',
      COUNTERSIGN_VIEWERS: 'ml-staff',
      COUNTERSIGN_API_TOKENS: pipelineTokens,
      // The suite's pipeline is bound to the suite's people, so its registrants are
      // established (N3), as a pipeline bound to its team's people would be.
      COUNTERSIGN_API_REGISTRANTS: suitesRegistrants,
    }),
    {
      command: `exec ${motoServer} -H 127.0.0.1 -p ${motoPort}`,
      url: `http://127.0.0.1:${motoPort}/moto-api/`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'ignore',
    },
    {
      command: `npx maildev --ip 127.0.0.1 --web-ip 127.0.0.1 --smtp ${maildevSmtpPort} --web ${maildevWebPort} --silent`,
      url: `http://127.0.0.1:${maildevWebPort}/api/email`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'ignore',
    },
    portal(awsPort, path.join(os.tmpdir(), `countersign-e2e-aws-${process.pid}.db`), {
      COUNTERSIGN_SMTP_URL: `smtp://127.0.0.1:${maildevSmtpPort}`,
      COUNTERSIGN_NOTIFY_DEV: 'ml-leads@example.com',
      COUNTERSIGN_EVENTS_API_KEY: eventsApiKey,
      COUNTERSIGN_SCAN_SECONDS: '2',
      // The development sign-in never runs on AWS: people sign in at the provider.
      ...atTheProvider,
      COUNTERSIGN_APPROVER_GROUP: 'approvers-dev-test',
      COUNTERSIGN_API_TOKENS: pipelineTokens,
      // The suite's pipeline is bound to the suite's people, so its registrants are
      // established (N3), as a pipeline bound to its team's people would be.
      COUNTERSIGN_API_REGISTRANTS: suitesRegistrants,
      ...onMoto,
    }),
    portal(seedFlowPort, path.join(os.tmpdir(), `countersign-e2e-seed-${process.pid}.db`), {
      COUNTERSIGN_SSM_PREFIX: '/seed-flow',
      COUNTERSIGN_DYNAMODB_TABLE: 'countersign-seed-flow',
      ...onMoto,
      ...atTheProvider,
      COUNTERSIGN_API_JWT_AUDIENCE: 'api://countersign',
      // Only the pipelines' clients call the API, and the training pipeline registers for
      // Dana alone (N12, N3).
      COUNTERSIGN_API_JWT_CLIENTS: 'training-pipeline,batch-pipeline',
      COUNTERSIGN_API_REGISTRANTS: 'training-pipeline=dana@example.com',
      COUNTERSIGN_APPROVERS_DEV: 'approvers-dev-test',
      COUNTERSIGN_APPROVERS_TEST: 'approvers-dev-test',
      COUNTERSIGN_APPROVERS_UAT: 'approvers-dev-test',
      COUNTERSIGN_APPROVERS_PROD: 'approvers-prod',
      COUNTERSIGN_REQUIRED_APPROVALS_PROD: '2',
      COUNTERSIGN_VIEWERS: 'ml-staff',
      COUNTERSIGN_SMTP_URL: `smtp://127.0.0.1:${maildevSmtpPort}`,
      COUNTERSIGN_NOTIFY_DEV: 'dev-approvers@example.com',
      COUNTERSIGN_NOTIFY_TEST: 'test-approvers@example.com',
      COUNTERSIGN_NOTIFY_UAT: 'uat-approvers@example.com',
      COUNTERSIGN_NOTIFY_PROD: 'prod-approvers@example.com',
      COUNTERSIGN_SCAN_SECONDS: '0',
    }),
    ...replicaPorts.map((replicaPort, index) =>
      portal(replicaPort, path.join(os.tmpdir(), `countersign-e2e-replica-${index}-${process.pid}.db`), {
        // Answering for the balancer's address, as replicas behind a load balancer do.
        COUNTERSIGN_PUBLIC_URL: balancerURL,
        COUNTERSIGN_SSM_PREFIX: '/replicas',
        COUNTERSIGN_DYNAMODB_TABLE: 'countersign-replicas',
        ...onMoto,
        ...atTheProvider,
        COUNTERSIGN_APPROVER_GROUP: 'approvers-dev-test',
        COUNTERSIGN_API_TOKENS: pipelineTokens,
        COUNTERSIGN_API_REGISTRANTS: suitesRegistrants,
        COUNTERSIGN_SMTP_URL: `smtp://127.0.0.1:${maildevSmtpPort}`,
        COUNTERSIGN_NOTIFY_DEV: replicaApprovers,
        COUNTERSIGN_EVENTS_API_KEY: eventsApiKey,
        // The aws portal's scan already looks at every group in moto; these take events.
        COUNTERSIGN_SCAN_SECONDS: '0',
      }),
    ),
    {
      command: 'node replicas/balancer.mjs',
      url: `${balancerURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'ignore',
      env: { BALANCER_PORT: String(balancerPort), REPLICA_PORTS: replicaPorts.join(',') },
    },
  ],
});
