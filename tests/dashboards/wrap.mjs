// Writes each dashboard JSON given on the command line as TypeScript
// constants into generated/: the whole dashboard typed as a Dashboard of
// @grafana/schema, and each panel typed as its plugin's panel, so that
// `tsc --noEmit --strict` checks them. A panel type without a known plugin
// type is typed `never`, which fails the check.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PANEL_TYPES = {
  row: 'RowPanelOf',
  timeseries: 'TimeSeriesPanel',
  stat: 'StatPanel',
  table: 'TablePanel',
  bargauge: 'BarGaugePanel',
};

const outDir = join(dirname(fileURLToPath(import.meta.url)), 'generated');
mkdirSync(outDir, { recursive: true });

for (const path of process.argv.slice(2)) {
  const dashboard = JSON.parse(readFileSync(path, 'utf8'));
  const lines = [
    `// Generated from ${basename(path)} by wrap.mjs; checked by tsc, never committed.`,
    `import type { CheckedDashboard, ${Object.values(PANEL_TYPES).join(', ')} } from '../types';`,
    '',
    `export const dashboard: CheckedDashboard = ${JSON.stringify(dashboard, null, 2)};`,
  ];
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const panel of panels) {
    const type = PANEL_TYPES[panel.type] ?? 'never';
    lines.push('', `export const panel${panel.id}: ${type} = ${JSON.stringify(panel, null, 2)};`);
  }
  const name = basename(path, '.json').replace(/[^A-Za-z0-9]/g, '_');
  writeFileSync(join(outDir, `${name}.ts`), lines.join('\n') + '\n');
  console.log(`${path}: ${panels.length} panels wrapped`);
}
