/**
 * What the processes print when they start: which configuration runs (the embedded defaults, or the file
 * PIXELSHIFT_CONFIG names) and every event feeder started, so an operator sees at once what is fed from
 * where.
 */
import path from 'node:path';
import type { Config } from '../core/config.js';
import type { ExampleFolders } from './example-rule.js';

export function configurationDescription(config: Pick<Config, 'configFile'>): string {
  return config.configFile === undefined
    ? 'embedded defaults (no PIXELSHIFT_CONFIG)'
    : `${config.configFile} (PIXELSHIFT_CONFIG)`;
}

/** One line per feeder, or one saying there is none (events then come only over HTTP). */
export function feederLines(descriptions: readonly string[], indent = ''): string[] {
  if (descriptions.length === 0) return [`${indent}none (bucket events arrive only over HTTP)`];
  return descriptions.map((description) => `${indent}${description}`);
}

/**
 * The address a browser on this machine uses: PUBLIC_URL, or the server's with `localhost` in place of a
 * loopback or wildcard host.
 */
export function browserBaseUrl(serverUrl: string, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl.replace(/\/+$/, '');
  const url = new URL(serverUrl);
  if (['127.0.0.1', '0.0.0.0', '[::]', '[::1]'].includes(url.hostname)) url.hostname = 'localhost';
  return url.origin;
}

export interface DevBannerInfo {
  config: Pick<Config, 'configFile'>;
  api: string;
  temporalUi: string | undefined;
  dataDir: string;
  storageRoot: string;
  feeders: readonly string[];
  devKey: { keyId: string; secret: string };
  devAccountId: string;
  exampleFolders: ExampleFolders | undefined;
  /** The dashboard's address and a fresh one-time sign-in link for the dev user. */
  dashboard?: { url: string; signInLink: string } | undefined;
}

/**
 * The dashboard's address for a browser: a loopback or wildcard host is written `localhost` (what a
 * newcomer types, and one origin for the session cookie whichever loopback address the server bound).
 */
export function dashboardUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (['127.0.0.1', '0.0.0.0', '[::]', '[::1]'].includes(url.hostname)) url.hostname = 'localhost';
  url.pathname = '/dashboard/';
  return url.toString();
}

export function devBannerLines(info: DevBannerInfo): string[] {
  const embedded = info.config.configFile === undefined;
  return [
    '',
    'pixelshift is running',
    `  config       ${configurationDescription(info.config)}`,
    `  API          ${info.api}`,
    `  Swagger      ${info.api}/swagger`,
    `  Temporal UI  ${info.temporalUi ?? '(not configured)'}`,
    ...(embedded
      ? [`  storage      ${info.storageRoot}  (connection "default": bucket = first folder)`]
      : []),
    `  data         ${info.dataDir}`,
    '  event feeders',
    ...feederLines(info.feeders, '    '),
    '',
    ...(info.exampleFolders
      ? [
          'drop a photo into the uploads folder; its 320 px WebP thumbnail appears in thumbnails (example rule):',
          `  uploads      ${info.exampleFolders.uploads}${path.sep}`,
          `  thumbnails   ${info.exampleFolders.thumbnails}${path.sep}`,
          '',
        ]
      : []),
    `dev key pair for account "${info.devAccountId}":`,
    `  client_id      ${info.devKey.keyId}`,
    `  client_secret  ${info.devKey.secret}`,
    '',
    'get a token:',
    `  curl -s -u ${info.devKey.keyId}:${info.devKey.secret} -d grant_type=client_credentials ${info.api}/oauth/token`,
    '',
    // Last, where a newcomer looks first.
    ...(info.dashboard
      ? [
          `Dashboard: ${info.dashboard.url}`,
          `Sign in (one-time link): ${info.dashboard.signInLink}`,
          '  (valid for 15 minutes and one sign-in; every start prints a new one)',
          '',
        ]
      : [`Dashboard: ${dashboardUrl(info.api)}`, '']),
    'Ctrl-C stops everything.',
    '',
  ];
}
