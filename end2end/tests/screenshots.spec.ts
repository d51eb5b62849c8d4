import { expect, test } from '@playwright/test';
import * as path from 'node:path';
import { approve, registerVersion, reportRun, settled, signInAs } from './helpers';

// The README's pictures, taken from a portal of their own with a few believable models, so
// they show what the portal shows today. Every run takes them; only `UPDATE_SCREENSHOTS=1`
// writes them over docs/, so `make test` leaves the tree as it found it.

const docs = process.env.UPDATE_SCREENSHOTS === '1'
  ? path.resolve(__dirname, '../../docs')
  : path.resolve(__dirname, '../test-results/screenshots');

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
