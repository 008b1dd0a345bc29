/**
 * Typed errors with a machine code. Services throw them; http/error-handler.ts turns them into a
 * page or JSON. `expose` says whether the message is written for the person who sent the request
 * (all 4xx here); 5xx messages are logged, never shown.
 */
export interface AppErrorOptions {
  code?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
  headers?: Record<string, string>;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;
  readonly details?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(status: number, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = options.code ?? defaultCodes[status] ?? 'ERROR';
    this.expose = status < 500;
    this.details = options.details;
    this.headers = options.headers;
  }
}

const defaultCodes: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  410: 'GONE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  507: 'INSUFFICIENT_STORAGE',
};

const make =
  (status: number, fallback: string) =>
  (message: string = fallback, options?: AppErrorOptions) =>
    new AppError(status, message, options);

export const badRequest = make(400, 'The request could not be understood.');
export const unauthorized = make(401, 'Authentication is required.');
export const forbidden = make(403, 'You are not allowed to do this.');
export const notFound = make(404, 'Nothing was found at this address.');
export const conflict = make(409, 'This conflicts with something that already exists.');
export const gone = make(410, 'This is no longer available.');
export const payloadTooLarge = make(413, 'The upload is larger than allowed.');
export const unsupportedMediaType = make(415, 'This content type is not accepted here.');
export const unprocessable = make(422, 'The input is not valid.');
export const tooManyRequests = make(429, 'Too many requests; try again later.');
export const unavailable = make(503, 'The service is temporarily unavailable.');
export const insufficientStorage = make(507, 'There is not enough disk space to store this.');
