// The Shifts selector: the blocks of the day a plan area's `when` is told in, sent as
// shifts= on the plans request. "server default" sends none (HOTSPOTS_PLAN_SHIFTS, which
// /map/config names); the presets are shift patterns common in UK and US policing; "other"
// takes start hours typed by the officer. The page does not check typed hours itself: the
// API's 422 says what is wrong with them, and the page shows its detail. Only "other" with
// nothing typed is not sent (shifts= empty would be told as a string too short): the page
// says what to type instead.

const PRESETS = [
  [7, 15, 23], // early, late, night (UK)
  [6, 14, 22],
  [0, 8, 16], // days, evenings, midnights (US)
  [7, 19], // two 12-hour shifts
  [6, 18],
];
const OTHER = "other";
export const NO_HOURS = "Type the hours the shifts start at, e.g. 7,15,23 (each 0-23).";

const hh = (hour) => String(hour).padStart(2, "0");

export function blocksText(starts) {
  // [7, 15, 23] -> "3 x 8 h from 07:00" (short enough for the closed selector); blocks of
  // unequal length each: [7, 17] -> "07-17, 17-07"
  const ends = [...starts.slice(1), starts[0] + 24];
  const hours = starts.map((s, i) => ends[i] - s);
  return hours.every((h) => h === hours[0])
    ? `${starts.length} x ${hours[0]} h from ${hh(starts[0])}:00`
    : starts.map((s, i) => `${hh(s)}-${hh(ends[i] % 24)}`).join(", ");
}

export function setUpShifts(select, typed, serverDefault, apply) {
  // fills the selector; a preset or the server default applies at once, "other" when the
  // typed hours are submitted with the form (Enter or Apply)
  select.replaceChildren(
    new Option(`server default (${blocksText(serverDefault)})`, ""),
    ...PRESETS.map((starts) => new Option(blocksText(starts), starts.join(","))),
    new Option("other: type the start hours", OTHER),
  );
  select.addEventListener("change", () => {
    typed.hidden = select.value !== OTHER;
    if (select.value === OTHER) typed.focus(); else apply();
  });
}

export function shiftsParam(select, typed) {
  // the shifts= value to send, null for the server's default, or "" for "other" with no
  // hours typed (not to be sent)
  if (select.value !== OTHER) return select.value || null;
  return typed.value.replace(/\s+/g, "");
}
