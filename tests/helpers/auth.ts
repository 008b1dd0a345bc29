/** Signing in the way a browser does: fetch the login form for its CSRF token, then post it. */
import supertest from 'supertest';
import type { Role } from '../../src/config.ts';
import type { TestApp } from './context.ts';

export const PASSWORD = 'correct horse battery';

let counter = 0;

export async function createUser(t: TestApp, role: Role = 'admin', username = `${role}${++counter}`) {
  return t.deps.users.createUser({ username, password: PASSWORD, role });
}

/** The hidden `_csrf` value of the page at `path` (requested with the agent's cookies). */
export async function csrfTokenFrom(agent: supertest.Agent, path: string): Promise<string> {
  const page = await agent.get(path);
  const match = /name="_csrf" value="([^"]+)"/.exec(page.text);
  if (!match) throw new Error(`no CSRF token on ${path} (status ${page.status})`);
  return match[1]!;
}

/** A supertest agent (a cookie jar) signed in as a new user of the given role. */
export async function signedInAgent(t: TestApp, role: Role = 'admin') {
  const user = await createUser(t, role);
  const agent = supertest.agent(t.app);
  const csrf = await csrfTokenFrom(agent, '/login');
  await agent
    .post('/login')
    .type('form')
    .send({ username: user.username, password: PASSWORD, _csrf: csrf, next: '/admin' })
    .expect(303);
  return { agent, user, csrf: await csrfTokenFrom(agent, '/admin') };
}
