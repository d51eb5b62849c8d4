import { expect, test } from '@playwright/test';
import { register, settled, signInAs, uniqueGroup } from './helpers';

// The local portal has no SMTP server: its messages are read on the notifications page.

test('approvers read queued messages on the notifications page, and a message just sent is not sent again', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('outbox');
  await register(request, group, 'dana');

  await page.goto('/notifications');
  await settled(page, testInfo);
  await signInAs(page, testInfo, 'alice');
  await expect(page).toHaveURL(/\/notifications$/);
  await expect(page.getByText('No SMTP server is configured')).toBeVisible();
  const row = page.locator(`tr[data-key="approval-request/${group}/1/dev"]`);
  await expect(row).toContainText(`${group} version 1 awaits approval for dev`);
  await expect(row).toContainText('ml-leads@example.com');
  await expect(row).toHaveAttribute('data-state', 'sent');
  // Delivered to the outbox only: the page says it reached nobody's inbox.
  await expect(row).toContainText('Kept here, not sent (no SMTP server)');
  await row.getByText('Message').click();
  await expect(row.locator('pre.mail')).toContainText(`/models/${group}/versions/1?environment=dev`);

  // It went out seconds ago: sending it again now would only flood the approvers.
  await row.getByRole('button', { name: 'Send again' }).click();
  if (testInfo.project.use.javaScriptEnabled !== false) {
    await expect(page.getByRole('alert')).toContainText('Not sent again: it was sent less than 60 seconds ago.');
  }
  await expect(page).toHaveURL(/\/notifications/);
  await expect(page.locator(`tr[data-key="approval-request/${group}/1/dev"]`)).toHaveCount(1);
});

test('people who approve nothing may not see the notifications page', async ({ page }, testInfo) => {
  await page.goto('/notifications');
  await settled(page, testInfo);
  await signInAs(page, testInfo, 'dana');
  await expect(page.getByText('Only approvers see the notifications page.')).toBeVisible();
});
