// Plotting for the paper's figures: dependency-free SVG line charts, chart grids and seed bands.
export { lineChart, escapeXml, PALETTE, type Series, type LineChartOptions } from './svg.js'
export { gridOfCharts } from './grid.js'
export { seriesFromRuns, type BandKind } from './runs.js'
export { linearTicks, logTicks, niceStep, type Tick, type AxisTicks } from './ticks.js'
