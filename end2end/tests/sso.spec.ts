import { expect, test } from '@playwright/test';
import { confirmSignature, openVersion, register, signInThroughProvider, ssoURL, step, uniqueGroup } from './helpers';

// These specs run against the portal that signs in through a real OpenID provider.
test.use({ baseURL: ssoURL });

test('an approver follows a deep link, signs in at the provider, approves dev, and signs out', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('sso');
  await register(request, group, 'dana');

  await openVersion(page, testInfo, group);
  await page.getByRole('link', { name: 'Sign in' }).first().click();
  await signInThroughProvider(page, testInfo, 'alice');
  await expect(page).toHaveURL(`${ssoURL}/models/${group}/versions/1`);
  await expect(page.getByRole('banner')).toContainText('Alice Approver');
  await expect(page.getByRole('banner')).toContainText('approver for dev, test, uat');

  await page.getByLabel('Reason for dev').fill('Signed in through SSO');
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await confirmSignature(page, testInfo, 'alice');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'Approved');
  await expect(step(page, 'dev')).toContainText('Approved dev by Alice Approver');
  // Alice may not decide prod: that takes the prod approver group.
  await expect(page.getByRole('button', { name: 'Approve prod' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Sign out' }).click();
  // The provider ends its own session too, after asking.
  await page.getByRole('button', { name: /Yes, sign me out/i }).click();
  await expect(page).toHaveURL(`${ssoURL}/`);
  await expect(page.getByRole('link', { name: 'Sign in' }).first()).toBeVisible();
});

test('a data scientist signs in and cannot decide', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('sso-ds');
  await register(request, group, 'dana');
  await page.goto(`/sign-in?return_to=/models/${group}/versions/1`);
  await signInThroughProvider(page, testInfo, 'dana');
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'PendingManualApproval');
  await expect(page.getByText('You cannot decide dev: you are not in an approver group for dev.')).toBeVisible();
});

test('someone outside the allowed groups gets a clear 403 page', async ({ page }, testInfo) => {
  await page.goto('/sign-in?return_to=/');
  await signInThroughProvider(page, testInfo, 'oscar');
  await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
  await expect(page.getByText('not as a member of a group allowed to use Countersign')).toBeVisible();
  const response = await page.reload();
  expect(response?.status()).toBe(403);
});

test('the development sign-in is gone when an identity provider is configured', async ({ page, request }) => {
  await page.goto('/sign-in');
  await expect(page.getByRole('heading', { name: 'Development sign-in' })).toHaveCount(0);
  const attempt = await request.post('/auth/dev/sign-in', { form: { subject: 'alice', return_to: '/' }, maxRedirects: 0 });
  expect(attempt.status()).toBe(404);
});
