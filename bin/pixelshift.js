#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step needed); production images may run dist/app/main.js instead.
import { register } from 'tsx/esm/api';

register();
await import('../src/app/main.ts');
