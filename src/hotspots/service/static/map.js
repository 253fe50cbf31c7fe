// The forecast map: the served forecast's cells coloured by relative risk and the patrol
// plan's areas outlined and numbered, from this service's API only (/map/config, /v1/models,
// /v1/forecasts/latest, /v1/plans/latest). The key is typed once, kept in sessionStorage
// (gone when the tab closes) and sent as the X-API-Key header, never in a URL. Each view is
// polled with If-None-Match: a 304 keeps what is drawn. A choice the API refuses (a 422, e.g.
// shift hours that are not hours) is told in its words and the map drawn before is kept.
// With several crime types served, "every type" draws the API's plan of them all (the one
// hotspots plan writes by default): its areas only, as each type's forecast has its own cells.
// It is the first choice: the published plan, whose area ids (AS_OF/RANK) a patrol log may
// name; an area of any other plan drawn says it has no such id (its numbers are another plan's).
// The plan is asked as JSON (the document, its areas' when and why nested) and its areas drawn
// from their boundaries: the GeoJSON answer's properties are flat columns for GIS tools.
import * as maplibregl from "/map/assets/maplibre-gl.mjs";
import { fmt, heading, list, periodOf, planPeriodOf, whenText } from "/map/assets/panel.js";
import { NO_HOURS, blocksText, setUpShifts, shiftsParam } from "/map/assets/shifts.js";

// The service serves these quoted URLs with their files' content hashes (?v=...). MapLibre's
// own guess for its worker, beside itself with ?v=<its version>, would be asked again on
// every load; named here, the worker gets its hashed URL too.
maplibregl.setWorkerUrl("/map/assets/maplibre-gl-worker.mjs");

const KEY = "hotspots.key";
const EVERY_TYPE = ""; // the crime type option of every served type's plan together
const NO_CELLS = { type: "FeatureCollection", features: [] };
const $ = (id) => document.getElementById(id);
const state = {
  config: null,
  map: null,
  shown: null, // {cells, plan}: the URLs of what is drawn, which a poll asks again
  etags: {}, // url -> ETag, for the URLs of what is drawn only
  refused: false, // the last choice applied was refused (its message stays over polls)
  asked: 0, // choices applied: an answer overtaken by a newer choice is dropped
  plan: new Map(), // rank -> area (the plan document's fields)
  planTypes: {}, // model -> {weight, categories} of the plan drawn
  planId: null, // the as_of of the plan drawn when it is the published one (area ids), else null
  served: 0, // the number of crime types served
  markers: [],
  polls: { sent: 0, notModified: 0, changed: 0 },
  fitted: false,
  timer: null,
  loaded: null, // resolves when the map's style is ready
};

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

function setStatus(text) {
  $("status").textContent = text;
}

class Refused extends Error {}

async function api(url, { conditional = false } = {}) {
  const headers = { "X-API-Key": sessionStorage.getItem(KEY) || "" };
  if (conditional && state.etags[url]) headers["If-None-Match"] = state.etags[url];
  const answer = await fetch(url, { headers, cache: "no-store" });
  if (answer.status === 401 || answer.status === 403) {
    sessionStorage.removeItem(KEY);
    stopPolling();
    $("controls").hidden = true;
    $("key-form").hidden = false;
    const why = answer.status === 401
      ? "This key was refused: it is not a valid key, or it has been revoked."
      : "This key may not read forecasts (it lacks the forecasts:read scope).";
    showMessage(`${why} Type a read key (hotspots keys create --scope forecasts:read).`);
    throw new Refused(why);
  }
  if (answer.status === 304) return { status: 304 };
  const body = await answer.json();
  if (!answer.ok) {
    throw new Error(body.detail || `${answer.status} ${answer.statusText}`);
  }
  return { status: answer.status, body, etag: answer.headers.get("ETag") };
}

function blankStyle(tiles) {
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f4f0" } }],
  };
  if (tiles) {
    style.sources.tiles = { type: "raster", tiles: [tiles], tileSize: 256 };
    style.layers.push({ id: "tiles", type: "raster", source: "tiles" });
  }
  return style;
}

function makeMap() {
  const map = new maplibregl.Map({
    container: "map",
    style: blankStyle(state.config.tiles),
    center: [0, 0],
    zoom: 1,
    attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  state.loaded = new Promise((resolve) => map.on("load", resolve)).then(() => {
    const empty = { type: "FeatureCollection", features: [] };
    map.addSource("cells", { type: "geojson", data: empty });
    map.addSource("areas", { type: "geojson", data: empty });
    map.addLayer({
      id: "cells", type: "fill", source: "cells",
      paint: {
        "fill-color": ["interpolate", ["linear"], ["get", "relative_risk"],
          1, "#ffffb2", 3, "#fecc5c", 6, "#fd8d3c", 12, "#f03b20", 24, "#bd0026"],
        "fill-opacity": 0.7,
      },
    });
    map.addLayer({
      id: "areas-fill", type: "fill", source: "areas",
      paint: { "fill-color": "#1f3a93", "fill-opacity": 0.08 },
    });
    map.addLayer({
      id: "areas", type: "line", source: "areas",
      paint: { "line-color": "#1f3a93", "line-width": 3 },
    });
    map.on("click", "areas-fill", (e) => showArea(e.features[0].properties.rank));
    map.on("click", "cells", (e) => {
      if (!map.queryRenderedFeatures(e.point, { layers: ["areas-fill"] }).length) {
        showCell(e.features[0].properties);
      }
    });
    for (const layer of ["areas-fill", "cells"]) {
      map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
    }
  });
  return map;
}

function urls() {
  // the URLs of the controls' choice, or null while "other" shifts has no hours typed
  const model = $("model").value;
  const horizon = $("horizon").value;
  const every = model === EVERY_TYPE; // no category=: the plan of every served type
  const forecast = new URLSearchParams({ model, horizon, top: "250", format: "geojson" });
  const plan = new URLSearchParams(every ? { horizon, format: "json" }
    : { category: model, horizon, format: "json" });
  const shifts = shiftsParam($("shifts"), $("shifts-text"));
  if (shifts === "") return null;
  if (shifts !== null) plan.set("shifts", shifts);
  // a budget left as configured is left to the service, which fits its default to a study
  // area too small for it (and says so in budget.note) instead of refusing it
  const defaults = state.config.plan;
  if (Number($("areas").value) !== defaults.areas) plan.set("areas", $("areas").value);
  if (Number($("max-area").value) !== defaults.max_area_km2) {
    plan.set("max_area_km2", $("max-area").value);
  }
  return {
    cells: every ? null : `/v1/forecasts/latest?${forecast}`,
    plan: `/v1/plans/latest?${plan}`,
  };
}

function fitTo(features) {
  const bounds = new maplibregl.LngLatBounds();
  for (const f of features) for (const ring of f.geometry.coordinates) {
    for (const point of ring) bounds.extend(point);
  }
  if (!bounds.isEmpty()) state.map.fitBounds(bounds, { padding: 30, duration: 0 });
}

function labelPoint(geometry) {
  // where an area's number goes: of a grid of points over its bounds, the one inside it (even-
  // odd over its rings, holes too) farthest from its outline, so inside a bent area too (the
  // mean of the outline falls outside an L or a crescent: 3 of the demo city's 6 areas)
  const rings = geometry.type === "Polygon" ? geometry.coordinates : geometry.coordinates[0];
  const [xs, ys] = [rings[0].map((p) => p[0]), rings[0].map((p) => p[1])];
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const k = Math.cos(((y0 + y1) / 2) * (Math.PI / 180)); // a degree of lng in degrees of lat
  let [best, far] = [[(x0 + x1) / 2, (y0 + y1) / 2], -1];
  for (let n = 0; n < 24 * 24; n += 1) {
    const x = x0 + ((n % 24) + 0.5) * ((x1 - x0) / 24);
    const y = y0 + (Math.floor(n / 24) + 0.5) * ((y1 - y0) / 24);
    let [odd, near] = [false, Infinity];
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [[ax, ay], [bx, by]] = [ring[j], ring[i]];
        if ((ay > y) !== (by > y) && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) odd = !odd;
        const [dx, dy, px, py] = [(bx - ax) * k, by - ay, (x - ax) * k, y - ay];
        const t = Math.max(0, Math.min(1, (px * dx + py * dy) / (dx * dx + dy * dy || 1)));
        near = Math.min(near, Math.hypot(px - t * dx, py - t * dy));
      }
    }
    if (odd && near > far) [far, best] = [near, [x, y]];
  }
  return best;
}

function published(url) {
  // whether the plan of ``url`` is the one the service published (its default budget, the next
  // period, every type): the plan whose areas a patrol log names AS_OF/RANK. Shifts change
  // only the when, never the areas.
  const asked = new URL(url, window.location.origin).searchParams;
  const every = !asked.has("category") || state.served === 1;
  const budget = ["areas", "max_area_km2", "total_km2", "stop", "weights"].some((k) => asked.has(k));
  return every && !budget && asked.get("horizon") === "1";
}

function areasOf(plan) {
  // the plan document's areas as GeoJSON features to draw (id and rank: the area's rank)
  const features = plan.areas.map((a) => ({
    type: "Feature", id: a.rank, geometry: a.boundary, properties: { rank: a.rank },
  }));
  return { type: "FeatureCollection", features };
}

function drawPlan(plan, url) {
  // the plan document drawn: its areas outlined and numbered; returns the features drawn
  const collection = areasOf(plan);
  state.map.getSource("areas").setData(collection);
  state.planId = published(url) ? plan.as_of : null;
  state.plan = new Map(plan.areas.map((a) => [a.rank, a]));
  state.planTypes = plan.types || {};
  state.planPeriod = planPeriodOf(plan);
  for (const marker of state.markers) marker.remove();
  state.markers = collection.features.map((f) => {
    const el = document.createElement("div");
    el.className = "area-label";
    el.textContent = String(f.properties.rank);
    el.title = `Area ${f.properties.rank}`;
    el.addEventListener("click", (event) => {
      event.stopPropagation();
      showArea(f.properties.rank);
    });
    const at = labelPoint(f.geometry);
    return new maplibregl.Marker({ element: el }).setLngLat(at).addTo(state.map);
  });
  state.planSummary = `${collection.features.length} patrol areas `
    + `(${fmt(plan.summary.area_km2)} km², `
    + `${(100 * plan.summary.share_of_forecast).toFixed(1)}% of the forecast)`
    + (plan.budget.note ? ` (${plan.budget.note})` : "")
    + `, shifts ${blocksText(plan.shifts)}`;
  const open = $("area").dataset.rank; // the area shown beside the map: its new when and why
  if (open && state.plan.has(Number(open))) showArea(open);
  else if (open) { $("area").replaceChildren(); delete $("area").dataset.rank; }
  return collection.features;
}

function typeLabel(model) {
  // the crime types a model forecasts, as the force's export names them; the model's name too
  // when it says something else
  const categories = (state.planTypes[model] || {}).categories || [];
  const label = categories.join(", ");
  if (!label) return model;
  return label.toLowerCase() === model.toLowerCase() ? label : `${label} (${model})`;
}

function showArea(rank) {
  const area = state.plan.get(Number(rank));
  if (!area) return;
  const box = $("area");
  const interval = `${area.interval.low}-${area.interval.high}`;
  const what = Object.entries(area.expected_by_type).map(([k, v]) => `${typeLabel(k)}: ${fmt(v)}`);
  box.replaceChildren(
    heading(`Area ${area.rank}: ${fmt(area.area_km2)} km², ${area.n_cells} ${area.n_cells === 1 ? "cell" : "cells"}`),
    list([`Expected crimes: ${fmt(area.expected_count)} (80%: ${interval})`]),
    heading("For what"), list(what),
    heading("When"), list(whenText(area.when)),
    heading("Why"), list(area.reasons),
    heading("Patrol log"), list([state.planId
      ? `Area id ${state.planId}/${area.rank}: give it as a patrol log's area.`
      : "Not the published plan (that is every type, the next period, the service's budget): "
        + "its area numbers are not patrol log ids; a log names these places by their cells "
        + "or outline."]),
  );
  box.dataset.rank = String(area.rank);
}

function showCell(p) {
  const drivers = [p.driver_1, p.driver_2, p.driver_3].filter((d) => d);
  $("area").replaceChildren(
    heading(`Cell ranked ${p.rank}`),
    list([`Expected crimes: ${fmt(p.expected_count)} (80%: ${p.interval_low}-${p.interval_high})`,
      `Relative risk: ${fmt(p.relative_risk, 1)}`]),
    heading("Why"), list(drivers.length ? drivers : ["no drivers given"]),
  );
  delete $("area").dataset.rank;
}

const kept = () => (state.shown ? " The map still shows the choice drawn before." : "");

async function refresh({ poll = false } = {}) {
  // a poll asks again for what is drawn; otherwise the controls' choice is asked for, and
  // drawn only when both answers are good (a refused choice keeps the map drawn before)
  // before anything is drawn (the first answers failed: a dropped connection, a 503), a poll
  // asks for the controls' choice as applying it does, or the page would never recover
  if (poll && !state.shown) return refresh();
  const want = poll ? state.shown : urls();
  const ticket = poll ? state.asked : ++state.asked;
  if (!want) { // "other" with no hours typed: nothing asked, what to type is told
    state.refused = true;
    showMessage(`${NO_HOURS}${kept()}`);
    return;
  }
  const { cells, plan } = want;
  // a poll is overtaken by a choice applied since, even one answered before the poll was
  const overtaken = () => ticket !== state.asked || (poll && want !== state.shown);
  try {
    const [a, b] = await Promise.all([
      cells ? api(cells, { conditional: true }) : null,
      api(plan, { conditional: true }),
    ]);
    await state.loaded;
    if (overtaken()) return;
    state.polls.sent += 1;
    const etags = {};
    for (const [url, got] of [[cells, a], [plan, b]]) {
      if (!url) continue; // every type: no cells asked
      if (got.status === 304) {
        state.polls.notModified += 1;
        etags[url] = state.etags[url];
        continue;
      }
      state.polls.changed += 1;
      etags[url] = got.etag;
      let features = got.body.features;
      if (url === cells) {
        state.map.getSource("cells").setData(got.body);
        state.cellCount = got.body.features.length;
        state.period = periodOf(got.body);
      } else {
        features = drawPlan(got.body, url);
      }
      if (!state.fitted && features.length) {
        fitTo(features);
        state.fitted = true;
      }
    }
    if (!cells) { state.map.getSource("cells").setData(NO_CELLS); state.cellCount = 0; }
    state.shown = want;
    state.etags = etags; // another query string is another resource: never sent its ETag
    if (!poll) state.refused = false;
    if (!state.refused) showMessage("");
    const checked = new Date().toLocaleTimeString();
    // the horizon selector is named by the period drawn: Day, Week, Month (or Period)
    const { unit } = cells ? state.period : state.planPeriod;
    $("horizon-label").textContent = unit[0].toUpperCase() + unit.slice(1);
    const same = (!a || a.status === 304) && b.status === 304 ? " (unchanged)" : "";
    const shown = cells
      ? `${state.cellCount} highest cells of ${state.period.text}; ${state.planSummary}.`
        + state.period.over
      : `Every crime type: ${state.planSummary} for ${state.planPeriod.text}; cells are `
        + `drawn for one type at a time (choose it above).${state.planPeriod.over}`;
    setStatus(`${shown} Checked ${checked}${same}.`);
  } catch (err) {
    if (err instanceof Refused || overtaken()) return;
    if (!poll) state.refused = true;
    showMessage(`Could not load the map: ${err.message.replace(/\.$/, "")}.${kept()}`);
  }
}

function stopPolling() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

async function start() {
  showMessage("");
  let models;
  try {
    models = (await api("/v1/models")).body.models.filter((m) => m.served);
  } catch (err) {
    if (!(err instanceof Refused)) showMessage(`Could not reach the service: ${err.message}`);
    return;
  }
  if (!models.length) { showMessage("No model is being served yet."); return; }
  $("key-form").hidden = true;
  $("controls").hidden = false;
  const select = $("model");
  select.replaceChildren(...models.map((m) => new Option(
    `${m.name}${m.target ? ` (${m.target.join(", ")})` : ""}`, m.name)));
  // the published plan first: the one whose area ids patrol logs name
  if (models.length > 1) select.prepend(new Option("every type: one plan", EVERY_TYPE, true, true));
  state.served = models.length;
  if (!state.map) state.map = makeMap();
  await refresh();
  stopPolling();
  state.timer = setInterval(() => refresh({ poll: true }), state.config.poll_seconds * 1000);
}

async function main() {
  state.config = await (await fetch("/map/config", { cache: "no-store" })).json();
  $("horizon").replaceChildren(...Array.from({ length: state.config.horizon }, (_, i) =>
    new Option(i === 0 ? "next" : `+${i}`, String(i + 1))));
  $("areas").value = state.config.plan.areas;
  $("max-area").value = state.config.plan.max_area_km2;
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    $("key").value = "";
    start();
  });
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  for (const id of ["model", "horizon"]) $(id).addEventListener("change", () => refresh());
  setUpShifts($("shifts"), $("shifts-text"), state.config.plan.shifts, () => refresh());
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    stopPolling();
    $("controls").hidden = true;
    $("key-form").hidden = false;
    setStatus("Type a read key to see the forecast.");
  });
  if (sessionStorage.getItem(KEY)) start(); else $("key-form").hidden = false;
}

// for the browser tests: what is drawn, counted from the map itself
window.hotspotsMap = {
  state,
  poll: () => refresh({ poll: true }),
  drawn() {
    const map = state.map;
    if (!map || !map.getLayer("cells")) return null;
    const unique = (layer, key) => new Set(
      map.queryRenderedFeatures({ layers: [layer] }).map((f) => f.properties[key])).size;
    return {
      cells: unique("cells", "cell"),
      areas: unique("areas", "rank"),
      labels: document.querySelectorAll(".area-label").length,
    };
  },
};

main();
