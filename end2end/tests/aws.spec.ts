import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { openVersion, register, signInAs, step, uniqueGroup } from './helpers';

// Runs in the `aws` project only: the portal on the AWS backend, against moto.
const root = path.resolve(__dirname, '../..');
const python = path.join(root, '.tools/venv/bin/python');
const motoURL = `http://127.0.0.1:${Number(process.env.MOTO_PORT ?? 3195)}`;

/** What SageMaker and SSM hold, read with boto3 as an operator would. */
function inspect(group: string, version: number, environment: string) {
  const output = execFileSync(python, [path.join(root, 'end2end/aws/aws_state.py'), group, String(version), environment], {
    env: { ...process.env, MOTO_URL: motoURL },
  });
  return JSON.parse(output.toString());
}

test('approving dev in the portal shows in SageMaker and in the SSM parameter pipelines read', async ({ page, request }, testInfo) => {
  const group = uniqueGroup('churn');
  await register(request, group, 'dana');

  await openVersion(page, testInfo, group);
  await signInAs(page, testInfo, 'alice');
  await page.getByLabel('Reason for dev').fill('Offline AUC beats the baseline');
  await page.getByRole('button', { name: 'Approve dev' }).click();
  await expect(step(page, 'dev')).toHaveAttribute('data-state', 'Approved');

  const held = inspect(group, 1, 'dev');
  expect(held.ModelApprovalStatus).toBe('Approved');
  expect(held.CustomerMetadataProperties).toMatchObject({
    dev: 'Approved',
    test: 'PendingManualApproval',
    uat: 'PendingManualApproval',
    prod: 'PendingManualApproval',
  });
  expect(held.ApprovalDescription).toContain('Alice Approver <alice@example.com>');
  expect(held.ApprovalDescription).toContain('Offline AUC beats the baseline');
  expect(held.parameter).toMatchObject({
    model_package_group: group,
    model_package_version: 1,
    environment: 'dev',
    image_uri: `registry.example/${group}:1`,
    model_data_url: `s3://models/${group}/1/model.tar.gz`,
    approved_by: { name: 'Alice Approver', email: 'alice@example.com' },
  });
  expect(held.parameter.model_package_arn).toMatch(new RegExp(`:model-package/${group}/1$`));
  expect(Date.parse(held.parameter.approved_at)).not.toBeNaN();

  // The portal's resolve API answers with the same document.
  const resolved = await request.get(`/api/v1/models/${group}/environments/dev`);
  expect(await resolved.json()).toEqual(held.parameter);
});
