// The map's side panel in words: the period a forecast is for, and an area's "when" (the
// shifts and hours that stand out, and the past events left out of them), as lists.

export function periodOf(doc) {
  // "the week of 2024-03-04" (day, week or month by the period's length), and whether the
  // period is over by this browser's clock: a service that gets no newer events keeps
  // serving the forecast of a period gone by, which must not read as this week's
  const start = new Date(`${doc.period.start}T00:00:00`);
  const end = new Date(`${doc.period.end}T00:00:00`);
  const days = Math.round((end - start) / 86400000);
  const unit = days === 1 ? "day" : days === 7 ? "week" : days >= 28 && days <= 31 ? "month"
    : "period";
  const newest = doc.data_through
    ? `: the newest events the service has are of the ${unit} of ${doc.data_through}` : "";
  const over = end <= new Date() ? ` This ${unit} is over${newest}.` : "";
  return { text: `the ${unit} of ${doc.period.start}`, over, unit };
}

export function planPeriodOf(plan) {
  // periodOf for a plan drawn without a forecast's cells (every crime type together): its
  // period from period_start and freq (D, W or M); a plan does not name its newest events
  const start = new Date(`${plan.period_start}T00:00:00Z`);
  const end = new Date(start);
  if (plan.freq === "M") end.setUTCMonth(end.getUTCMonth() + 1);
  else end.setUTCDate(end.getUTCDate() + (plan.freq === "D" ? 1 : 7));
  return periodOf({ period: { start: plan.period_start, end: end.toISOString().slice(0, 10) } });
}

export function fmt(x, digits = 2) {
  return Number(x).toFixed(digits);
}

export function whenText(when) {
  if (when === "withheld") return ["withheld (too few past events here to show)"];
  if (typeof when === "string") return ["unknown (the history has no time of day)"];
  const named = (top) => (top.length
    ? top.map((h) => `${h.label} (${h.lift}x: ${h.events} events)`).join(", ")
    : "none stands out from an even spread");
  // events at a clock minute heaped beyond what the hours around predict (an export's
  // stand-in for an unknown time, such as 12:00) count only what those hours predict
  const heaped = Object.entries(when.placeholder_excess || {});
  const excess = heaped.reduce((sum, [, n]) => sum + n, 0);
  return [
    `Busiest shifts of the week: ${named(when.top_blocks || [])}`,
    `Busiest shifts of the day: ${named(when.top_blocks_of_day || [])}`,
    `Busiest hours of the week: ${named(when.top_hours)}`,
    `Busiest hours of the day: ${named(when.top_hours_of_day)}`,
    `(x: the shift's or hour's share of the ${when.events_with_time - excess} past events here `
      + "with a time of day, against an even spread's; one is named only when chance would "
      + "rarely make it that busy; a shift past midnight counts on the day it starts)",
    ...(when.events_without_time
      ? [`${when.events_without_time} more past events here are left out: their time of day `
        + "is unknown (a date only, or a placeholder time such as 00:01 read as a date)"]
      : []),
    ...heaped.map(([minute, n]) => `About ${n} more past events here at ${minute} are not `
      + "counted: that clock time holds more than the hours around predict for it, as where "
      + "an export writes it for an unknown time of day"),
  ];
}

export function list(items) {
  const ul = document.createElement("ul");
  for (const text of items) {
    const li = document.createElement("li");
    li.textContent = text;
    ul.append(li);
  }
  return ul;
}

export function heading(text) {
  const h = document.createElement("h2");
  h.textContent = text;
  return h;
}
