// Validates prometheus-operator custom resources (a JSON array, argv[3]:
// ServiceMonitors and PrometheusRules) against the operator's CRD schemas as
// compiled into the npm models package installed under argv[2]. Exits
// non-zero naming each error, and on a kind it has no schema for.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, input] = process.argv.slice(2);
const models = join(modules, "node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1");
let failed = 0;
for (const doc of JSON.parse(readFileSync(input, "utf8"))) {
  const name = `${doc.kind} ${doc.metadata?.name}`;
  try {
    const module = await import(pathToFileURL(join(models, `${doc.kind}.js`)).href);
    new module[doc.kind](doc).validate();
    console.log(`${name}: valid`);
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
