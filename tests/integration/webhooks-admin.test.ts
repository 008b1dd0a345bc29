/** /admin/webhooks: admins add, pause and delete endpoints and see every delivery. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signedInAgent>>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signedInAgent(t, 'admin');
});
afterAll(() => t?.close());

const add = (fields: Record<string, unknown>) => admin.agent.post('/admin/webhooks').type('form').send({ _csrf: admin.csrf, ...fields });

describe('who may manage webhooks', () => {
  test.each(['editor', 'analyst'] as const)('an %s is refused (403)', async (role) => {
    const { agent, csrf } = await signedInAgent(t, role);
    await agent.get('/admin/webhooks').expect(403);
    await agent.post('/admin/webhooks').type('form').send({ _csrf: csrf, url: 'https://example.org/h', events: '*' }).expect(403);
    expect(await t.db.webhookEndpoint.count()).toBe(0);
  });

  test('a form without the CSRF token is refused', async () => {
    await admin.agent.post('/admin/webhooks').type('form').send({ url: 'https://example.org/h', events: '*' }).expect(403);
    expect(await t.db.webhookEndpoint.count()).toBe(0);
  });
});

describe('endpoints', () => {
  test('added without a secret: one is generated and shown once, then only its last four characters', async () => {
    const res = await add({ url: 'https://hooks.example.org/downloads', events: ['download.created', 'download.requested'] }).expect(201);
    const secret = /<code id="new-secret" class="secret">(whsec_[A-Za-z0-9_-]+)<\/code>/.exec(res.text)?.[1];
    expect(secret).toBeDefined();
    const row = await t.db.webhookEndpoint.findFirstOrThrow({ where: { url: 'https://hooks.example.org/downloads' } });
    expect(row).toMatchObject({ secret, events: 'download.created,download.requested', active: true });
    const page = await admin.agent.get('/admin/webhooks').expect(200);
    expect(page.text).not.toContain(secret!);
    expect(page.text).toContain(`…${secret!.slice(-4)}`);
    expect(page.text).toContain('download.created, download.requested');
  });

  test('added with a secret of its own', async () => {
    await add({ url: 'https://own.example.org/h', secret: 'my-own-secret-123456', events: '*' }).expect(303);
    expect(await t.db.webhookEndpoint.findFirstOrThrow({ where: { url: 'https://own.example.org/h' } })).toMatchObject({ secret: 'my-own-secret-123456', events: '*' });
  });

  test.each([
    ['a URL that is not http(s)', { url: 'ftp://example.org/h', events: '*' }, 'http:// or https://'],
    ['a URL with a password', { url: 'https://user:pw@example.org/h', events: '*' }, 'without a user name or password'],
    ['a private address (SSRF)', { url: 'http://169.254.169.254/latest', events: '*' }, 'private or local'],
    ['a loopback address', { url: 'http://127.0.0.1:8080/h', events: '*' }, 'private or local'],
    ['no event type', { url: 'https://example.org/h' }, 'Choose at least one event type.'],
    ['an unknown event type', { url: 'https://example.org/h', events: 'download.exploded' }, 'Unknown event type.'],
    ['a short secret', { url: 'https://example.org/h', events: '*', secret: 'short' }, 'A secret has 16 to 200 characters'],
  ])('refused: %s (422, the form keeps what was typed)', async (_name, fields, message) => {
    const before = await t.db.webhookEndpoint.count();
    const res = await add(fields).expect(422);
    expect(res.text).toContain(message.replaceAll("'", '&#39;'));
    expect(res.text).toContain(`value="${fields.url.replaceAll('&', '&amp;')}"`);
    expect(await t.db.webhookEndpoint.count()).toBe(before);
  });

  test('paused endpoints get no deliveries sent; deleting removes the endpoint and its deliveries', async () => {
    const endpoint = await t.db.webhookEndpoint.findFirstOrThrow({ where: { url: 'https://own.example.org/h' } });
    await admin.agent.post(`/admin/webhooks/${endpoint.id}/active`).type('form').send({ _csrf: admin.csrf, active: '0' }).expect(303);
    expect((await t.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).active).toBe(false);
    await buildDownload(t, {});
    expect(await t.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(0);

    await admin.agent.post(`/admin/webhooks/${endpoint.id}/active`).type('form').send({ _csrf: admin.csrf, active: '1' }).expect(303);
    await buildDownload(t, {});
    expect(await t.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(1);

    await admin.agent.post(`/admin/webhooks/${endpoint.id}/delete`).type('form').send({ _csrf: admin.csrf }).expect(303);
    expect(await t.db.webhookEndpoint.findUnique({ where: { id: endpoint.id } })).toBeNull();
    expect(await t.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(0);
    await admin.agent.post(`/admin/webhooks/${endpoint.id}/delete`).type('form').send({ _csrf: admin.csrf }).expect(404);
  });
});

describe('deliveries', () => {
  test('each delivery is listed with its status, attempts, response code and error, and a retry button', async () => {
    const endpoint = await t.db.webhookEndpoint.create({ data: { url: 'https://list.example.org/h', secret: 'list-secret-0123456789', events: 'archive.imported' } });
    const failed = await t.db.webhookDelivery.create({
      data: { endpointId: endpoint.id, eventType: 'archive.imported', payload: '{}', status: 'failed', attempts: 10, lastStatusCode: 502, lastError: 'HTTP 502' },
    });
    const delivered = await t.db.webhookDelivery.create({
      data: { endpointId: endpoint.id, eventType: 'archive.imported', payload: '{}', status: 'delivered', attempts: 1, lastStatusCode: 204, deliveredAt: new Date() },
    });
    const page = await admin.agent.get('/admin/webhooks?status=failed').expect(200);
    const row = new RegExp(`<tr data-delivery="${failed.id}">([\\s\\S]*?)</tr>`).exec(page.text)?.[1] ?? '';
    expect(row).toContain('status-failed');
    expect(row).toContain('>10<');
    expect(row).toContain('>502<');
    expect(row).toContain('HTTP 502');
    expect(row).toContain(`action="/admin/webhooks/deliveries/${failed.id}/retry"`);
    expect(page.text).not.toContain(`data-delivery="${delivered.id}"`); // filtered out

    await admin.agent.post(`/admin/webhooks/deliveries/${failed.id}/retry`).type('form').send({ _csrf: admin.csrf }).expect(303);
    expect(await t.db.webhookDelivery.findUniqueOrThrow({ where: { id: failed.id } })).toMatchObject({ status: 'pending', attempts: 10 });
    await admin.agent.post('/admin/webhooks/deliveries/999999/retry').type('form').send({ _csrf: admin.csrf }).expect(404);
  });
});
