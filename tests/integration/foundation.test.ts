import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PASSWORD, createUser, csrfTokenFrom, signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ LOGIN_MAX_FAILURES: '5' });
});
afterAll(() => t?.close());

describe('operations endpoints', () => {
  test('GET /healthz answers 200 when the database answers', async () => {
    const res = await t.http.get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  test('GET /metrics is Prometheus text with request timings', async () => {
    await t.http.get('/login');
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('http_request_duration_seconds_bucket');
    expect(res.text).toContain('process_resident_memory_bytes');
  });
});

describe('pages and errors', () => {
  test('the login page is a form with a CSRF token and security headers', async () => {
    const res = await t.http.get('/login').expect(200);
    expect(res.text).toContain('<form method="post" action="/login"');
    expect(res.text).toMatch(/name="_csrf" value="[^"]{20,}"/);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an unknown page is a 404 page, or JSON when JSON is asked for', async () => {
    const page = await t.http.get('/no/such/page').expect(404);
    expect(page.text).toContain('Not found');
    expect(page.text).not.toMatch(/at .*\.ts:\d+/);
    const json = await t.http.get('/no/such/page').set('Accept', 'application/json').expect(404);
    expect(json.body).toEqual({ error: { code: 'NOT_FOUND', message: 'Nothing was found at this address.' } });
  });

  test('admin pages send visitors to the login page', async () => {
    const res = await t.http.get('/admin').expect(303);
    expect(res.headers.location).toBe('/login?next=%2Fadmin');
  });
});

describe('signing in', () => {
  test('a user signs in, sees the admin home (never cached), and signs out', async () => {
    const user = await createUser(t, 'editor');
    const agent = supertest.agent(t.app);
    const loginPage = await agent.get('/login');
    const before = loginPage.headers['set-cookie']?.[0]?.split(';')[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(loginPage.text)![1];

    const login = await agent
      .post('/login')
      .type('form')
      .send({ username: user.username, password: PASSWORD, _csrf: csrf, next: '/admin' })
      .expect(303);
    expect(login.headers.location).toBe('/admin');
    const after = login.headers['set-cookie']?.[0]?.split(';')[0];
    expect(after).toBeDefined();
    expect(after).not.toBe(before); // a new session id at login: no fixation
    expect(login.headers['set-cookie']![0]).toMatch(/HttpOnly/);
    expect(login.headers['set-cookie']![0]).toMatch(/SameSite=Lax/);

    const home = await agent.get('/admin').expect(200);
    expect(home.text).toContain(`Welcome, ${user.username}`);
    expect(home.headers['cache-control']).toBe('no-store');

    const logoutToken = await csrfTokenFrom(agent, '/admin');
    await agent.post('/logout').type('form').send({ _csrf: logoutToken }).expect(303);
    await agent.get('/admin').expect(303);
    // The old cookie is dead too, not just forgotten by this client.
    await supertest(t.app).get('/admin').set('Cookie', after!).expect(303);
  });

  test('the cookie is Secure when the request came through a TLS-terminating proxy', async () => {
    const res = await t.http.get('/login').set('X-Forwarded-Proto', 'https').expect(200);
    expect(res.headers['set-cookie']![0]).toMatch(/; Secure/);
  });

  test('a wrong password answers 401 five times, then 429 with Retry-After', async () => {
    const user = await createUser(t, 'analyst');
    const agent = supertest.agent(t.app);
    const csrf = await csrfTokenFrom(agent, '/login');
    const attempt = () =>
      agent
        .post('/login')
        .set('X-Forwarded-For', '203.0.113.9')
        .type('form')
        .send({ username: user.username, password: 'wrong password', _csrf: csrf });
    for (let i = 0; i < 5; i++) {
      const res = await attempt();
      expect(res.status).toBe(401);
      expect(res.text).toContain('Wrong username or password.');
    }
    const sixth = await attempt();
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    expect(sixth.text).toContain('Too many failed sign-ins');
  });

  test('an unknown user gets the same answer as a wrong password', async () => {
    const agent = supertest.agent(t.app);
    const csrf = await csrfTokenFrom(agent, '/login');
    const res = await agent.post('/login').type('form').send({ username: 'nobody', password: 'whatever1', _csrf: csrf });
    expect(res.status).toBe(401);
    expect(res.text).toContain('Wrong username or password.');
  });

  test('a disabled user cannot sign in and loses an open session', async () => {
    const { agent, user } = await signedInAgent(t, 'editor');
    await agent.get('/admin').expect(200);
    await t.deps.users.updateUser(user.id, { disabled: true });
    await agent.get('/admin').expect(303);
  });

  test('after login, only local paths are followed', async () => {
    const user = await createUser(t, 'admin');
    const agent = supertest.agent(t.app);
    const csrf = await csrfTokenFrom(agent, '/login');
    const res = await agent
      .post('/login')
      .type('form')
      .send({ username: user.username, password: PASSWORD, _csrf: csrf, next: '//evil.example/' })
      .expect(303);
    expect(res.headers.location).toBe('/admin');
  });
});

describe('cross-site request forgery', () => {
  test('a POST without the CSRF token answers 403 and changes nothing', async () => {
    const { agent } = await signedInAgent(t, 'admin');
    const res = await agent.post('/admin/users').type('form').send({ username: 'csrfvictim', password: 'password123', role: 'admin' });
    expect(res.status).toBe(403);
    expect(await t.db.user.findUnique({ where: { username: 'csrfvictim' } })).toBeNull();
  });

  test('a cross-site POST answers 403 even with a valid token', async () => {
    const { agent, csrf } = await signedInAgent(t, 'admin');
    const res = await agent
      .post('/admin/users')
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ username: 'crosssite', password: 'password123', role: 'admin', _csrf: csrf });
    expect(res.status).toBe(403);
    const fetchMeta = await agent
      .post('/admin/users')
      .set('Sec-Fetch-Site', 'cross-site')
      .type('form')
      .send({ username: 'crosssite', password: 'password123', role: 'admin', _csrf: csrf });
    expect(fetchMeta.status).toBe(403);
    expect(await t.db.user.findUnique({ where: { username: 'crosssite' } })).toBeNull();
  });

  test('the login form is protected too', async () => {
    const user = await createUser(t, 'admin');
    const res = await supertest(t.app).post('/login').type('form').send({ username: user.username, password: PASSWORD });
    expect(res.status).toBe(403);
  });
});

describe('user management', () => {
  test('an admin creates a user, and a taken name is a clear 409', async () => {
    const { agent, csrf } = await signedInAgent(t, 'admin');
    await agent.post('/admin/users').type('form').send({ username: 'newbie', password: 'password123', role: 'analyst', _csrf: csrf }).expect(303);
    expect((await t.db.user.findUnique({ where: { username: 'newbie' } }))?.role).toBe('analyst');
    const again = await agent.post('/admin/users').type('form').send({ username: 'newbie', password: 'password123', role: 'analyst', _csrf: csrf });
    expect(again.status).toBe(409);
    expect(again.text).toContain('The username &#34;newbie&#34; is already taken.');
  });

  test('a short password or a bad name is refused with its reason', async () => {
    const { agent, csrf } = await signedInAgent(t, 'admin');
    const short = await agent.post('/admin/users').type('form').send({ username: 'shorty', password: 'x', role: 'editor', _csrf: csrf });
    expect(short.status).toBe(400);
    expect(short.text).toContain('Passwords need at least 8 characters.');
    const html = await agent.post('/admin/users').type('form').send({ username: '<b>x</b>', password: 'password123', role: 'editor', _csrf: csrf });
    expect(html.status).toBe(400);
    expect(html.text).not.toContain('<b>x</b>');
  });

  test('editors and analysts cannot manage users', async () => {
    for (const role of ['editor', 'analyst'] as const) {
      const { agent } = await signedInAgent(t, role);
      await agent.get('/admin/users').expect(403);
    }
  });

  test('the last admin cannot be demoted or deleted', async () => {
    const lone = await startTestApp();
    try {
      const { agent, csrf, user } = await signedInAgent(lone, 'admin');
      const other = await createUser(lone, 'editor');
      await agent.post(`/admin/users/${other.id}`).type('form').send({ role: 'admin', _csrf: csrf }).expect(303);
      await agent.post(`/admin/users/${other.id}`).type('form').send({ role: 'editor', _csrf: csrf }).expect(303);
      await expect(lone.deps.users.updateUser(user.id, { role: 'editor' })).rejects.toThrow('At least one active admin must remain.');
      await expect(lone.deps.users.deleteUser(user.id)).rejects.toThrow('At least one active admin must remain.');
    } finally {
      await lone.close();
    }
  });

  test('an API key is shown once, stored hashed, and works as a Bearer token', async () => {
    const { agent, csrf, user } = await signedInAgent(t, 'admin');
    const res = await agent.post(`/admin/users/${user.id}/api-keys`).type('form').send({ name: 'ci', _csrf: csrf }).expect(201);
    const key = /<code id="new-secret" class="secret">([^<]+)<\/code>/.exec(res.text)![1]!;
    expect(key).toMatch(/^dlk_[A-Za-z0-9_-]{43}$/);
    const row = await t.db.apiKey.findFirstOrThrow({ where: { userId: user.id } });
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.last4).toBe(key.slice(-4));
    expect(JSON.stringify(row)).not.toContain(key);

    const me = await t.http.get('/api/v1/me').set('Authorization', `Bearer ${key}`).expect(200);
    expect(me.body.user).toEqual({ id: user.id, username: user.username, role: 'admin' });
    const listed = await agent.get('/admin/users');
    expect(listed.text).not.toContain(key);

    await agent.post(`/admin/users/${user.id}/api-keys/${row.id}/revoke`).type('form').send({ _csrf: csrf }).expect(303);
    const revoked = await t.http.get('/api/v1/me').set('Authorization', `Bearer ${key}`).expect(401);
    expect(revoked.body.error.code).toBe('API_KEY_INVALID');
    expect(revoked.headers['www-authenticate']).toBe('Bearer realm="downloads"');
  });

  test('the API ignores session cookies', async () => {
    const { agent } = await signedInAgent(t, 'admin');
    await agent.get('/api/v1/me').expect(401);
  });
});
