import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { csrfTokenFrom } from '../helpers/auth.ts';
import { runCli } from '../helpers/processes.ts';

let t: TestApp;
let env: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  env = { DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot, LOG_LEVEL: 'warn' };
});
afterAll(() => t?.close());

describe('npm run cli -- user:create', () => {
  test('creates an admin by default, who can then sign in', async () => {
    const result = runCli(['user:create', '--username', 'root', '--password', 'a good password'], env);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Created admin "root" \(id \d+\)\n$/);

    const agent = supertest.agent(t.app);
    const csrf = await csrfTokenFrom(agent, '/login');
    await agent.post('/login').type('form').send({ username: 'root', password: 'a good password', _csrf: csrf }).expect(303);
  });

  test('reads the password from standard input and takes a role', async () => {
    const result = runCli(['user:create', '--username', 'ann', '--password-stdin', '--role', 'analyst'], env, 'from stdin 123\n');
    expect(result.status).toBe(0);
    const user = await t.db.user.findUniqueOrThrow({ where: { username: 'ann' } });
    expect(user.role).toBe('analyst');
    expect(await t.deps.users.authenticate('ann', 'from stdin 123')).not.toBeNull();
  });

  test('a taken username, a short password or a bad role is a clear error', () => {
    runCli(['user:create', '--username', 'dup', '--password', 'password1'], env);
    const taken = runCli(['user:create', '--username', 'dup', '--password', 'password1'], env);
    expect(taken.status).toBe(1);
    expect(taken.stderr).toContain('The username "dup" is already taken.');
    const short = runCli(['user:create', '--username', 'shorty', '--password', 'x'], env);
    expect(short.status).toBe(1);
    expect(short.stderr).toContain('Passwords need at least 8 characters.');
    const role = runCli(['user:create', '--username', 'r', '--password', 'password1', '--role', 'root'], env);
    expect(role.status).toBe(2);
    expect(role.stderr).toContain('--role must be one of admin, editor, analyst');
  });
});

describe('npm run cli -- apikey:create', () => {
  test('prints the new key alone on the last line, and the key works', async () => {
    runCli(['user:create', '--username', 'bot', '--password', 'password1', '--role', 'editor'], env);
    const result = runCli(['apikey:create', '--username', 'bot', '--name', 'deploy'], env);
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const key = lines.at(-1)!;
    expect(key).toMatch(/^dlk_[A-Za-z0-9_-]{43}$/);
    const me = await t.http.get('/api/v1/me').set('Authorization', `Bearer ${key}`).expect(200);
    expect(me.body.user.username).toBe('bot');
    expect((await t.db.apiKey.findFirstOrThrow({ where: { last4: key.slice(-4) } })).name).toBe('deploy');
  });

  test('an unknown user is exit 1 with a message', () => {
    const result = runCli(['apikey:create', '--username', 'ghost'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('There is no user "ghost".');
  });
});

test('an unknown command prints the usage and exits 2', () => {
  const result = runCli(['frobnicate'], env);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('unknown command "frobnicate"');
  expect(result.stderr).toContain('user:create --username U');
});

describe('npm run cli -- adddownloads', () => {
  test('adds every file of a folder, recursively with -r, into a category, published with --publish', async () => {
    const { default: fs } = await import('node:fs');
    const { default: path } = await import('node:path');
    const dir = fs.mkdtempSync(path.join(t.mediaRoot, '..', 'add-'));
    fs.writeFileSync(path.join(dir, 'alpha.txt'), 'alpha');
    fs.writeFileSync(path.join(dir, 'beta <b>.bin'), 'beta');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'gamma.txt'), 'gamma');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'link'));
    try {
      const flat = runCli(['adddownloads', dir, '--category', 'Imported'], env);
      expect(flat.status).toBe(0);
      expect(flat.stdout).toBe(`Adding ${dir}/alpha.txt\nAdding ${dir}/beta <b>.bin\nAdded 2 files\n`);
      expect(flat.stderr).toContain(`Skipping ${dir}/link: symbolic link`);
      const alpha = await t.db.download.findFirstOrThrow({ where: { title: 'alpha.txt' }, include: { primaryCategory: true } });
      expect(alpha).toMatchObject({ state: 'unpublished', fileName: 'alpha.txt', size: 5n });
      expect(alpha.primaryCategory?.title).toBe('Imported');

      const deep = runCli(['adddownloads', dir, '-r', '--publish'], env);
      expect(deep.status).toBe(0);
      expect(deep.stdout).toContain(`Adding ${dir}/sub/gamma.txt`);
      expect(deep.stdout).toContain('Added 3 files');
      expect((await t.db.download.findFirstOrThrow({ where: { title: 'gamma.txt' } })).state).toBe('published');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a folder that does not exist is a clear error, exit 1', () => {
    const result = runCli(['adddownloads', '/no/such/folder'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('No such folder: /no/such/folder\n');
    const none = runCli(['adddownloads'], env);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('No folder path was specified.');
  });
});
