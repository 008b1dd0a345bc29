/**
 * POST /callback (CloudRepo's download webhook) and POST /api/v1/events (downloads reported by
 * any other system). Both take JSON authenticated with WEBHOOK_SECRET, in this order:
 * off (no secret set: 404) → not JSON (415) → body over the limit (413) → secret or signature
 * wrong (401) → not valid JSON (400) → payload checks (400/422) → record. Nothing is written
 * before the last step. The raw body is kept: the signature is computed over its bytes.
 */
import express, { Router, type RequestHandler } from 'express';
import { AppError, notFound, unauthorized, unsupportedMediaType } from '../errors.ts';
import { SIGNATURE_HEADER, secretsMatch, signatureMatches } from '../lib/hmac.ts';
import { parseJson } from './intake-payloads.ts';
import type { IntakeService } from './intake-service.ts';

const JSON_TYPE = /^application\/([a-z0-9.-]+\+)?json\s*(;|$)/i;

function intakeGuard(secret: string | undefined, limit: string): RequestHandler[] {
  const enabled: RequestHandler = (_req, _res, next) =>
    next(
      secret
        ? undefined
        : notFound('The download webhook intake is off: the server has no WEBHOOK_SECRET.', { code: 'INTAKE_DISABLED' }),
    );
  const jsonOnly: RequestHandler = (req, _res, next) =>
    next(JSON_TYPE.test(req.get('content-type') ?? '') ? undefined : unsupportedMediaType('Send the payload as application/json.', { code: 'UNSUPPORTED_MEDIA_TYPE' }));
  const authenticated: RequestHandler = (req, _res, next) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    req.body = body;
    const querySecret = req.query.secret;
    const signature = req.get(SIGNATURE_HEADER);
    // Every credential presented must be right, and at least one must be presented.
    const queryOk = querySecret === undefined ? undefined : typeof querySecret === 'string' && secretsMatch(querySecret, secret!);
    const signatureOk = signature === undefined ? undefined : signatureMatches(secret!, body, signature);
    const ok = (queryOk ?? true) && (signatureOk ?? true) && (queryOk !== undefined || signatureOk !== undefined);
    next(
      ok
        ? undefined
        : unauthorized(`The secret (?secret=) or the signature (${SIGNATURE_HEADER}: sha256=<HMAC-SHA256 of the body>) is missing or wrong.`, {
            code: 'SIGNATURE_INVALID',
          }),
    );
  };
  return [enabled, jsonOnly, express.raw({ type: () => true, limit }), authenticated];
}

export function intakeRoutes(deps: { intake: IntakeService; secret: string | undefined }): Router {
  const { intake, secret } = deps;
  const router = Router();

  router.post('/callback', ...intakeGuard(secret, '64kb'), async (req, res) => {
    await intake.recordCloudRepo(req.body as Buffer, parseJson(req.body as Buffer));
    // The same answer for a repeat: the sender must stop retrying either way.
    res.json({ success: true });
  });
  router.all('/callback', (_req, res, next) => {
    res.set('Allow', 'POST');
    next(new AppError(405, 'Send download webhooks with POST.', { code: 'METHOD_NOT_ALLOWED' }));
  });

  router.post('/api/v1/events', ...intakeGuard(secret, '512kb'), async (req, res) => {
    res.json(await intake.recordExternal(parseJson(req.body as Buffer)));
  });

  return router;
}
