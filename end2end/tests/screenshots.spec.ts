import { APIRequestContext, expect, Page, test } from '@playwright/test';
import * as path from 'node:path';
import { confirmSignature, pipelineAuth, settled, signInAs } from './helpers';

// The README's pictures, taken from a portal of their own with a few believable models, so
// they show what the portal shows today. They are written to docs/ on every run.

const docs = path.resolve(__dirname, '../../docs');

async function registerVersion(request: APIRequestContext, group: string, metrics: Record<string, number>, tag: string) {
  const response = await request.post(`/api/v1/models/${group}/versions`, {
    headers: pipelineAuth,
    data: {
      image_uri: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${group}:${tag}`,
      model_data_url: `s3://ml-models/${group}/${tag}/model.tar.gz`,
      description: `Gradient-boosted trees, retrained on data to ${tag}`,
      metrics,
      registered_by: { subject: 'dana', name: 'Dana Scientist', email: 'dana@example.com' },
    },
  });
  expect(response.status(), await response.text()).toBe(201);
}

async function reportRun(request: APIRequestContext, group: string, version: number, environment: string, auc: number) {
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

async function approve(page: Page, testInfo: Parameters<typeof settled>[1], group: string, version: number, environment: string) {
  await page.goto(`/models/${group}/versions/${version}?environment=${environment}`);
  await settled(page, testInfo);
  await page.getByLabel(`Reason for ${environment}`).fill('Offline metrics beat the live model');
  await page.getByRole('button', { name: `Approve ${environment}` }).click();
  await confirmSignature(page, testInfo, 'alice');
}

test('the inbox, the review page with its evidence, and your models, for the README', async ({ page, request }, testInfo) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await registerVersion(request, 'churn-predictor', { auc: 0.91, f1: 0.78, log_loss: 0.34 }, '2026-10');
  await registerVersion(request, 'fraud-detector', { auc: 0.96, precision: 0.88, latency_ms: 41 }, '2026-11');
  await page.goto('/sign-in');
  await signInAs(page, testInfo, 'alice');
  await approve(page, testInfo, 'churn-predictor', 1, 'dev');
  await reportRun(request, 'churn-predictor', 1, 'dev', 0.905);
  await registerVersion(request, 'churn-predictor', { auc: 0.88, f1: 0.74, log_loss: 0.39 }, '2026-11a');
  await registerVersion(request, 'churn-predictor', { auc: 0.93, f1: 0.8, log_loss: 0.31 }, '2026-11b');

  await page.goto('/');
  await settled(page, testInfo);
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(page.locator('tr[data-group]')).toHaveCount(4);
  await page.screenshot({ path: path.join(docs, 'inbox.png') });

  await page.goto('/models/churn-predictor/versions/3?environment=dev');
  await settled(page, testInfo);
  await expect(page.getByRole('heading', { name: 'Compared with what is live in dev' })).toBeVisible();
  await page.screenshot({ path: path.join(docs, 'review-page.png'), fullPage: true });

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto('/sign-in');
  await signInAs(page, testInfo, 'dana');
  await page.goto('/mine');
  await settled(page, testInfo);
  await expect(page.locator('tr[data-group]')).toHaveCount(4);
  await page.screenshot({ path: path.join(docs, 'your-models.png') });
});
