/**
 * The two JSON shapes the intake takes, checked before anything is written:
 * - CloudRepo's download webhook (POST /callback): `file-name` or `filename`, `repository-id`,
 *   optionally a delivery `id`. The seed keyed counts on `file-name` and classified on
 *   `filename`; either is accepted here, and the classification uses whichever is present.
 * - Generic external downloads (POST /api/v1/events): one event, or `{"events": [...]}`.
 */
import { z } from 'zod';
import { badRequest, unprocessable } from '../errors.ts';
import { ARTIFACT_TYPES, classifyArtifact, type ArtifactType } from './artifact-types.ts';

export const MAX_EVENTS_PER_REQUEST = 500;

// C0/C1 controls and bidi overrides are removed from names before they reach a page or a CSV.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const text = (max: number) =>
  z
    .string()
    .transform((v) => v.replace(UNPRINTABLE, '').trim())
    .pipe(z.string().max(max, `at most ${max} characters`));

const name = text(1024);
const idValue = z.union([z.string().min(1).max(200), z.number().int().nonnegative()]).transform(String);

export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.', { code: 'BAD_JSON' });
  }
}

export interface CloudRepoDownload {
  artifact: string;
  repository: string | null;
  artifactType: ArtifactType;
  deliveryId: string | null;
}

const cloudRepo = z.object({
  'file-name': name.optional(),
  filename: name.optional(),
  'repository-id': z.union([text(255), z.number().transform(String)]).optional(),
  id: idValue.optional(),
});

export function parseCloudRepo(payload: unknown): CloudRepoDownload {
  const parsed = cloudRepo.safeParse(payload);
  if (!parsed.success || typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    throw badRequest(issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'The payload must be a JSON object.', { code: 'PAYLOAD_INVALID' });
  }
  const data = parsed.data;
  const artifact = data['file-name'] || data.filename;
  if (!artifact) throw badRequest('The payload needs the downloaded file\'s name ("file-name" or "filename").', { code: 'PAYLOAD_INVALID' });
  return {
    artifact,
    repository: data['repository-id'] || null,
    artifactType: classifyArtifact(data.filename || data['file-name']),
    deliveryId: data.id ?? null,
  };
}

const SOURCE = /^[a-z0-9][a-z0-9._-]{0,39}$/;

const externalEvent = z
  .object({
    id: idValue,
    source: z.string().regex(SOURCE, 'lower-case letters, digits, dot, dash or underscore, at most 40').default('api'),
    file: name.optional(),
    download: z.string().min(1).max(100).optional(),
    repository: text(255).optional(),
    type: z.enum(ARTIFACT_TYPES).optional(),
    occurredAt: z.iso.datetime({ offset: true, message: 'an ISO 8601 date and time, like 2026-05-01T10:00:00Z' }).optional(),
    userAgent: text(512).optional(),
    referrer: text(1024).optional(),
  })
  .refine((e) => e.file || e.download, { message: 'needs "file" or "download"', path: ['file'] });

export type ExternalEvent = z.infer<typeof externalEvent>;

const eventList = z.array(z.unknown()).min(1, 'at least one event').max(MAX_EVENTS_PER_REQUEST, `at most ${MAX_EVENTS_PER_REQUEST} events`);

/** Every event is checked first: one bad event refuses the request (422, naming it). */
export function parseExternalEvents(payload: unknown): ExternalEvent[] {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw badRequest('The payload must be a JSON object: one event, or {"events": [...]}.', { code: 'PAYLOAD_INVALID' });
  }
  let list: unknown[] = [payload];
  if ('events' in payload) {
    const events = eventList.safeParse(payload.events);
    if (!events.success) throw unprocessable(`events: ${events.error.issues[0]!.message}`, { code: 'PAYLOAD_INVALID' });
    list = events.data;
  }
  return list.map((item, index) => {
    const parsed = externalEvent.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.');
      throw unprocessable(`Event ${index}: ${field ? `${field}: ` : ''}${issue.message}`, { code: 'PAYLOAD_INVALID', details: { index, field } });
    }
    return parsed.data;
  });
}
