/**
 * Chart.js's browser build, served by the app from node_modules (no CDN: the Content-Security-
 * Policy allows scripts from this origin only). The package does not export its UMD file, so it
 * is found beside the entry point Node resolves, wherever npm placed the package.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RequestHandler } from 'express';

export const CHART_SCRIPT_URL = '/vendor/chart.umd.min.js';

const file = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

export const serveChartScript: RequestHandler = (_req, res, next) => {
  res.sendFile(file, { maxAge: '1d' }, (error) => error && next(error));
};
