import { expect, test } from '@playwright/test';
import { approveDevByKeyboard, register, settled, signInAs, step, tabTo, uniqueGroup } from './helpers';

// The home page leads each person where their work is, with and without JavaScript.

test('an approver lands in their inbox and opens a waiting step from it', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('inbox');
  await register(request, group, 'dana');
  await page.goto('/');
  await signInAs(page, testInfo, 'bob');
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: /^Inbox \d+ steps? waiting$/ })).toBeVisible();
  const row = page.locator(`tr[data-group="${group}"]`);
  // The longest waiting first, fifty a page: a step just registered is on the last page.
  while ((await row.count()) === 0) {
    await page.getByRole('link', { name: 'Older' }).click();
    await settled(page, testInfo);
  }
  await expect(row).toHaveAttribute('data-environment', 'dev');
  await expect(row).toContainText('Dana Scientist');
  await expect(row).toContainText('Nothing is live here yet');
  await row.getByRole('link', { name: `${group} version 1` }).click();
  await settled(page, testInfo);
  await expect(page).toHaveURL(new RegExp(`/models/${group}/versions/1\\?environment=dev$`));
  await expect(step(page, 'dev')).toBeVisible();
});

test('a data scientist lands on their models and sees who each waits for', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('mine');
  await register(request, group, 'dana');
  await page.goto('/');
  await signInAs(page, testInfo, 'dana');
  await expect(page).toHaveURL(/\/mine$/);
  const row = page.locator(`tr[data-group="${group}"]`);
  await expect(row).toContainText('approvers of dev');
  await expect(row.locator('.mini-step')).toHaveCount(4);
  await row.getByRole('link', { name: `${group} version 1` }).click();
  await settled(page, testInfo);
  await expect(page).toHaveURL(new RegExp(`/models/${group}/versions/1$`));
});

test('the groups list filters by name without a page of its own', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('filter');
  await register(request, group, 'dana');
  await page.goto('/models');
  await signInAs(page, testInfo, 'alice');
  await page.goto('/models');
  await settled(page, testInfo);
  await page.getByLabel('Groups whose name contains').fill(group.toUpperCase());
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`/models\\?q=${group.toUpperCase()}$`));
  await expect(page.getByRole('link', { name: group, exact: true })).toBeVisible();
  await expect(page.locator('table.list tbody tr')).toHaveCount(1);
});

test('from the inbox to a signed decision by keyboard alone', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('walk');
  await register(request, group, 'dana');
  await page.goto('/');
  await signInAs(page, testInfo, 'alice');
  await expect(page).toHaveURL(/\/inbox$/);
  await settled(page, testInfo);
  // Every step of the shared store waits in this inbox too: the filter narrows it to the group.
  await tabTo(page, page.getByLabel('Groups whose name contains'));
  await page.keyboard.type(group);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/inbox\\?q=${group}$`));
  await settled(page, testInfo);
  await expect(page.locator('table.inbox tbody tr')).toHaveCount(1);
  await tabTo(page, page.getByRole('link', { name: `${group} version 1` }));
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/models/${group}/versions/1\\?environment=dev$`));
  await settled(page, testInfo);
  await approveDevByKeyboard(page, testInfo, 'Reviewed from the inbox, by keyboard');
});
