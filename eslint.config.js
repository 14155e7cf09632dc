// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: no I/O, no native modules, no clocks of its own.
const bannedInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((name) => `node:${name}`),
  'sharp',
  'express',
  '@aws-sdk/*',
  'pg',
  '@electric-sql/pglite',
  'drizzle-orm',
  'drizzle-orm/*',
];

/** Packages that belong to the infrastructure layers (database and Temporal), never to core. */
const infrastructurePackages = [
  '@temporalio/*',
  'pg',
  '@electric-sql/pglite',
  'drizzle-orm',
  'drizzle-orm/*',
];
/**
 * OpenTelemetry's SDK: providers, exporters, instrumentations. Only src/app sets tracing up (src/app/tracing.ts);
 * the other layers record spans through `@opentelemetry/api`, which is a no-op until the SDK is installed.
 */
const telemetrySdkPackages = [
  '@opentelemetry/sdk-*',
  '@opentelemetry/exporter-*',
  '@opentelemetry/instrumentation*',
  '@opentelemetry/resources',
  'import-in-the-middle',
];
/** Packages of the HTTP layer. */
const httpPackages = ['express', 'swagger-ui-express', 'supertest'];
/** Temporal's Node-side packages: workflows use `@temporalio/workflow` (and `@temporalio/common`) only. */
const temporalNodePackages = [
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

/**
 * Forbids a layer's files to import the named top-level folders of src/ (by relative path) and the named
 * packages. Relative specifiers are matched by the folder name that follows their `../` run.
 * @param {string} files
 * @param {string[]} forbiddenLayers
 * @param {string[]} forbiddenPackages
 */
function layerRule(files, forbiddenLayers, forbiddenPackages) {
  const layer = files.split('/')[1];
  return {
    files: [files],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^(\.\./)+(${forbiddenLayers.join('|')})/`,
              message: `The ${layer} layer may not import this layer (see the layer list in eslint.config.js).`,
            },
            {
              group: forbiddenPackages,
              message: `The ${layer} layer may not depend on this package (see the layer list in eslint.config.js).`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.tools/',
      '.pixelshift/',
      'bench/results/',
      '.scratch/',
      'test/clients/typescript/',
      // Runs in its own project with the packed SDK installed (test/clients/sdk-pack.test.ts).
      'examples/node-sdk/',
      // Generated from the OpenAPI document (npm run client:types); checked for staleness, not style.
      'packages/client/src/generated/',
      'packages/client/dist/',
      // The built dashboard (npm run dashboard:build).
      'dashboard/dist/',
      'dashboard/dist.building-*/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bin/*.js', 'deploy/compose/*.mjs'],
        },
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return promises the runner itself tracks.
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // Layers (docs/architecture.md, "Layers"): each may import only the layers beneath it.
  //   core      graph contract, imaging, storage, triggers' parsing, jobs' ports: no Express, no Temporal, no database
  //   db        the schema, migrations and repositories: core only
  //   temporal  workflows, activities, worker, client: core and db
  //   api       HTTP plumbing (route definitions, errors, OpenAPI builder, bearer auth): core and db
  //   features  one folder per API feature: core, db, api and other features (never temporal or app)
  //   app       the only place where everything is wired together (CLI commands, the HTTP app, tracing)
  // Every layer may record spans through @opentelemetry/api; only app may set up OpenTelemetry's SDK.
  layerRule(
    'src/core/**',
    ['db', 'temporal', 'api', 'features', 'app', 'tools'],
    [...infrastructurePackages, ...httpPackages, ...telemetrySdkPackages],
  ),
  layerRule(
    'src/db/**',
    ['temporal', 'api', 'features', 'app', 'tools'],
    [...httpPackages, '@temporalio/*', ...telemetrySdkPackages],
  ),
  layerRule('src/temporal/**', ['api', 'features', 'app'], [...httpPackages, ...telemetrySdkPackages]),
  layerRule('src/api/**', ['temporal', 'features', 'app'], ['@temporalio/*', ...telemetrySdkPackages]),
  layerRule('src/features/**', ['temporal', 'app', 'tools'], ['@temporalio/*', ...telemetrySdkPackages]),
  layerRule('src/tools/**', ['db', 'api', 'features', 'app'], [...httpPackages, ...telemetrySdkPackages]),
  {
    // Workflow code runs in Temporal's deterministic sandbox: pure core modules and Temporal's workflow
    // API only; activities are imported as types and called through proxies.
    files: ['src/temporal/workflows/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: bannedInWorkflows,
              message:
                'Workflow code must stay deterministic: do the I/O in an activity and import its type only.',
            },
            {
              // This block replaces the temporal layer's rule for workflow files, so it bans those packages too.
              group: [...httpPackages, ...telemetrySdkPackages, ...temporalNodePackages],
              message:
                'Workflow code runs in Temporal’s sandbox: no HTTP, OpenTelemetry SDK or Temporal client/worker packages.',
            },
            {
              // An allow-list: of src/, only these (the rest of core does I/O or needs Node).
              regex: String.raw`^\.\./\.\./(?!core/(graph|jobs|webhooks)/|core/errors\.js$)|^\.\./(?!\.|activities/|search-attributes\.js$|scheduling\.js$)`,
              message:
                'Workflows import only pure core modules (graph, jobs, webhooks, errors), the search attributes, the scheduling keys, and Temporal’s workflow API.',
            },
            {
              regex: String.raw`^\.\./activities/`,
              allowTypeImports: true,
              message: 'Workflows import activities as types only (proxyActivities calls them).',
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard runs in the browser (dashboard/tsconfig.json): browser globals, not Node's.
    files: ['dashboard/**/*.ts', 'dashboard/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  prettier,
);
