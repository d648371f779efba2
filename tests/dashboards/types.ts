// Types the dashboard checks hold each dashboard and panel to, built from
// @grafana/schema: the dashboard model, and for each panel type the options
// and field config of its plugin (so a misspelt option fails too).
import type { AnnotationQuery, Dashboard, DataQuery, FieldConfig, FieldConfigSource, Panel, RowPanel } from '@grafana/schema';
import type * as BarGauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as Table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** A type as JSON spells it: where the schema names an enum member, JSON
 * has the member's string value, which TypeScript would not accept for the
 * enum itself. */
export type Json<T> = T extends string
  ? T | `${T}`
  : T extends Array<infer U>
    ? Array<Json<U>>
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

/** A panel of plugin `Kind` whose options and `fieldConfig.defaults.custom`
 * are the plugin's own types. */
type PluginPanel<Kind extends string, Options, Custom> = Json<
  Omit<Panel, 'type' | 'options' | 'fieldConfig'> & {
    type: Kind;
    options: Options;
    fieldConfig: Omit<FieldConfigSource, 'defaults'> & {
      defaults: Omit<FieldConfig, 'custom'> & { custom?: Partial<Custom> };
    };
  }
>;

/** An annotation of Grafana's Prometheus data source: its query in
 * `target`, and the options its editor keeps beside the schema's fields,
 * which @grafana/schema leaves to each data source to define. */
type PrometheusAnnotation = AnnotationQuery<DataQuery & { expr: string; interval?: string }> & {
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
};

export type CheckedDashboard = Json<
  Omit<Dashboard, 'annotations'> & {
    annotations?: { list?: Array<AnnotationQuery | PrometheusAnnotation> };
  }
>;
export type RowPanelOf = Json<RowPanel>;
export type TimeSeriesPanel = PluginPanel<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>;
export type StatPanel = PluginPanel<'stat', Stat.Options, Record<string, never>>;
export type TablePanel = PluginPanel<'table', Table.Options, Table.FieldConfig>;
export type BarGaugePanel = PluginPanel<'bargauge', BarGauge.Options, Record<string, never>>;
