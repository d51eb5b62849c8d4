import { expect, test } from '@playwright/test';
import { confirmSignature, register, settled, signInAs, uniqueGroup } from './helpers';

test('pages carry the security headers and hydrate under the Content-Security-Policy', async ({ page, request }, testInfo) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy|Refused to (execute|load)/i.test(message.text())) violations.push(message.text());
  });
  const group = uniqueGroup('csp');
  await register(request, group, 'dana');
  const response = await page.goto(`/models/${group}/versions/1`);
  const headers = response!.headers();
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['content-security-policy']).toContain("'wasm-unsafe-eval'");
  expect(headers['content-security-policy']).not.toContain('unsafe-inline');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('same-origin');
  expect(headers['cache-control']).toBe('no-store');

  await signInAs(page, testInfo, 'alice');
  // With JavaScript, `settled` waited for the WASM to hydrate the page: under the policy.
  await settled(page, testInfo);
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(page, testInfo, 'alice');
  await expect(page.locator('li[data-environment="dev"]')).toHaveAttribute('data-state', 'Approved');
  expect(violations).toEqual([]);
});
