// The Label page's frame viewer, page-wide key capture and canvas timeline (Streamlit components v2).
//
// Protocol with Python (ui/labeler.py):
//  - Python sends `data`: the video, the frames the browser asked for (JPEG data URIs by index),
//    the reps, the open rep, the selection, the last message, `ack` (the last event seq it
//    processed), `rid` (the last request it answered) and an optional `seek`.
//  - The browser owns the cursor: ←/→/Shift, play, clicks on the timeline move it at once, from
//    frames it already holds. It sends ONE state value, `msg`, holding every event Python has not
//    acknowledged yet (each with its own sequence number, the frame on screen and a navigation
//    count), the current frame and the frames it lacks around it. Python processes each seq once,
//    so lost or merged reruns never lose or double a keystroke.
//  - The JS module is loaded once per page; Streamlit calls the default export again whenever
//    `data` changes, with the same parentElement, so the instance lives in a map.

const CLIENT = Math.random().toString(36).slice(2, 10);
let SEQ = 0; // last event seq made by this page
let RID = 0; // last request id sent
let NAV = 0; // local cursor moves so far (a server seek applies only if none happened since)
let SEEK_SEEN = 0; // last server seek applied or skipped
const FRAMES = new Map(); // "vid:index" -> JPEG bytes (Uint8Array); shared by instances, survive remounts
const BITMAPS = new Map(); // "vid:index" -> decoded ImageBitmap, or the Promise of one, near the cursor
const DECODE_AHEAD = 12, DECODE_BEHIND = 4; // frames kept decoded around the cursor (paused)
const FRAME_CAP = 420;
const instances = new Map(); // parentElement -> instance
// The pose track (ui/labeler.py:pose_payload): landmarks per frame index for the track version
// POSE_TAG.get(vid), null where the track has no pose; the joint signals once per version.
const POSE = new Map(); // "vid:index" -> {xy: [x0, y0, ...], v: "0110..."} | null
const POSE_TAG = new Map(); // vid -> the track version the POSE entries belong to
const SIGNALS = new Map(); // vid -> {tag, frames, series: [{name, color, values, lo, hi}]}
let SHOW_POSE = true; // P toggles; kept in localStorage
try { SHOW_POSE = localStorage.getItem("labeler.pose") !== "0"; } catch (e) { /* no storage */ }
let ACTIVE = null; // the instance that receives keys

const AHEAD = 40, BEHIND = 20; // frames wanted around the cursor when paused
const LOW_AHEAD = 20, LOW_BEHIND = 11; // ask for more when fewer than these are held
const MAX_NEED = 150;
const NAV_ACTIONS = new Set(["play", "prev", "next", "prev10", "next10", "keymap"]);

const fkey = (vid, i) => vid + ":" + i;
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

// ---- the binary message from Python (core/frames.py:pack) ---------------------------------------
const DECODER = new TextDecoder();

function unpack(data) {
  let bytes = data;
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  else if (bytes && !(bytes instanceof Uint8Array) && bytes.buffer instanceof ArrayBuffer) {
    bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (!(bytes instanceof Uint8Array)) return data; // plain JSON data
  if (bytes[0] !== 76 || bytes[1] !== 66 || bytes[2] !== 76 || bytes[3] !== 49) throw new Error("labeller: bad message");
  const n = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
  const header = JSON.parse(DECODER.decode(bytes.subarray(8, 8 + n)));
  const base = 8 + n;
  const frames = {};
  for (const [i, off, len] of header.frames) frames[i] = bytes.subarray(base + off, base + off + len);
  return { ...header.meta, frames };
}

// ---- keys -------------------------------------------------------------------------------------
// Mirror of core/keymap.py:key_action (the browser needs it to know what to preventDefault).
function keyAction(e) {
  const key = e.key || "", code = e.code || "", lower = key.toLowerCase();
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl) {
    if (lower === "z" || code === "KeyZ") return e.shiftKey ? "redo" : "undo";
    if (lower === "y" || code === "KeyY") return "redo";
    return null;
  }
  if (key === "ArrowLeft" || key === "ArrowRight") {
    const right = key === "ArrowRight";
    if (e.altKey) return right ? "nudge_next" : "nudge_prev";
    if (e.shiftKey) return right ? "next10" : "prev10";
    return right ? "next" : "prev";
  }
  if (e.altKey) return null;
  if (key === " " || code === "Space") return "play";
  if (key === "?") return "keymap";
  if (key === "Escape") return "escape";
  let digit = null;
  if (key.length === 1 && "123456789".includes(key)) digit = +key;
  else if ((code.startsWith("Digit") || code.startsWith("Numpad")) && "123456789".includes(code.slice(-1)) && !e.shiftKey) digit = +code.slice(-1);
  if (digit !== null) return "label:" + (digit - 1);
  if (lower === "s") return "start";
  if (lower === "e") return "end";
  if (key === "Enter") return "enter";
  if (lower === "p") return "pose";
  if (key === "Tab") return e.shiftKey ? "select_prev" : "select_next";
  if (key === "Backspace" || key === "Delete") return "delete";
  return null;
}

const TYPING_ROLES = new Set(["textbox", "combobox", "searchbox", "spinbutton", "slider", "listbox", "option", "menu", "menuitem", "grid", "gridcell"]);

// Keys typed into text boxes, selects, sliders, editable content are not shortcuts.
function isTyping(e) {
  for (const el of e.composedPath()) {
    if (!el || !el.tagName) continue;
    const tag = el.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return true;
    if (el.isContentEditable) return true;
    const role = el.getAttribute && el.getAttribute("role");
    if (role && TYPING_ROLES.has(role)) return true;
  }
  return false;
}

function onKeyDown(e) {
  const inst = ACTIVE;
  if (!inst || !inst.vid || !inst.el.isConnected) return;
  if (e.isComposing || isTyping(e)) return;
  const action = keyAction(e);
  if (!action) return;
  if (action === "escape") {
    if (!inst.keymapEl.classList.contains("hidden")) { inst.keymapEl.classList.add("hidden"); e.preventDefault(); }
    return;
  }
  e.preventDefault();
  e.stopPropagation();
  if (e.repeat && !NAV_ACTIONS.has(action)) return; // a held S or Backspace acts once
  handle(inst, action, e);
}

function handle(inst, action, e) {
  switch (action) {
    case "next": return setFrame(inst, inst.frame + 1);
    case "prev": return setFrame(inst, inst.frame - 1);
    case "next10": return setFrame(inst, inst.frame + 10);
    case "prev10": return setFrame(inst, inst.frame - 10);
    case "play": return togglePlay(inst);
    case "keymap": return inst.keymapEl.classList.toggle("hidden");
    case "pose": return togglePose(inst);
  }
  if (action.startsWith("label:")) {
    const i = +action.slice(6);
    if (i < inst.labels.length) { inst.label = inst.labels[i].name; renderPalette(inst); }
  }
  pushEvent(inst, { type: "key", key: e.key, code: e.code, shift: e.shiftKey, alt: e.altKey, ctrl: e.ctrlKey, meta: e.metaKey });
}

// ---- talking to Python ------------------------------------------------------------------------
function pushEvent(inst, ev) {
  ev.seq = ++SEQ;
  ev.frame = inst.frame;
  ev.nav = NAV;
  ev.vid = inst.vid;
  inst.pending.push(ev);
  send(inst);
}

// While playing faster than the screen can show (fps × speed > 60), only every stride-th frame is
// fetched, decoded and drawn; paused, every frame.
function stride(inst) {
  return inst.playing ? Math.max(1, Math.round((inst.fps * inst.speed) / 60)) : 1;
}

function wanted(inst, ahead, behind) {
  const out = [];
  const f = inst.frame, n = inst.nframes, k = stride(inst);
  const lacks = (i) => !FRAMES.has(fkey(inst.vid, i)) || lacksPose(inst, i);
  for (let i = f; i <= Math.min(n - 1, f + ahead); i += k) if (lacks(i)) out.push(i);
  for (let i = f - 1; i >= Math.max(0, f - behind); i--) if (lacks(i)) out.push(i);
  return out;
}

// Playing, ask for ~4 s ahead when less than ~2 s is left: few, large answers (each answer reruns
// the fragment, which costs the page more than the frames do).
function aheadCount(inst) {
  return inst.playing ? Math.max(AHEAD, Math.ceil(inst.fps * inst.speed * 4)) : AHEAD;
}

function needsFrames(inst) {
  const low = inst.playing ? Math.max(LOW_AHEAD, Math.ceil(inst.fps * inst.speed * 2)) : LOW_AHEAD;
  return wanted(inst, low, inst.playing ? 0 : LOW_BEHIND).length > 0;
}

function send(inst) {
  const need = wanted(inst, aheadCount(inst), inst.playing ? 2 : BEHIND).slice(0, MAX_NEED);
  const msg = {
    client: CLIENT, rid: ++RID, vid: inst.vid, frame: inst.frame, nav: NAV, playing: inst.playing,
    events: inst.pending.map((e) => ({ ...e })), need,
    sig: (SIGNALS.get(inst.vid) || {}).tag || null, // the joint signals held: Python sends them until then
  };
  inst.inflight = { rid: msg.rid, t: performance.now() };
  inst.setStateValue("msg", msg);
  renderSync(inst);
}

function maybeRequest(inst) {
  if (!inst.vid) return;
  const stale = inst.inflight && performance.now() - inst.inflight.t > 4000;
  if (inst.inflight && !stale) return;
  if (needsFrames(inst) || (stale && inst.pending.length)) send(inst);
}

// ---- cursor, frames, playback -----------------------------------------------------------------
function setFrame(inst, f, local = true) {
  f = clamp(Math.round(f), 0, Math.max(0, inst.nframes - 1));
  if (local && f !== inst.frame) NAV++;
  inst.frame = f;
  keepCursorVisible(inst);
  showFrame(inst);
  renderBar(inst);
  drawTimeline(inst);
  maybeRequest(inst);
}

// Frames are drawn on a canvas from ImageBitmaps decoded ahead of time (createImageBitmap decodes
// off the main thread), so showing the next frame is one drawImage.
function decodeFrame(vid, i) {
  const k = fkey(vid, i);
  const have = BITMAPS.get(k);
  if (have) return have;
  const bytes = FRAMES.get(k);
  if (!bytes) return null;
  const p = createImageBitmap(new Blob([bytes], { type: "image/jpeg" })).then((bmp) => {
    if (BITMAPS.get(k) !== p) { bmp.close(); return null; } // evicted meanwhile
    BITMAPS.set(k, bmp);
    for (const inst of instances.values()) if (inst.vid === vid && inst.frame === i && inst.shown !== i) showFrame(inst);
    return bmp;
  }, () => { BITMAPS.delete(k); return null; });
  BITMAPS.set(k, p);
  return p;
}

function predecode(inst) {
  const k = stride(inst);
  const count = inst.playing ? Math.max(DECODE_AHEAD, Math.ceil((inst.fps * inst.speed * 0.6) / k)) : DECODE_AHEAD;
  const lo = inst.frame - DECODE_BEHIND - 4, hi = inst.frame + count * k + 8;
  for (const [key, b] of BITMAPS) {
    const [vid, i] = key.split(":");
    if (+vid !== inst.vid || +i < lo || +i > hi) {
      BITMAPS.delete(key);
      if (b instanceof ImageBitmap) b.close();
    }
  }
  for (let j = 0; j <= count; j++) {
    const i = inst.frame + j * k;
    if (i >= inst.nframes) break;
    decodeFrame(inst.vid, i);
  }
  if (!inst.playing) for (let i = inst.frame - 1; i >= Math.max(0, inst.frame - DECODE_BEHIND); i--) decodeFrame(inst.vid, i);
}

function showFrame(inst) {
  const f = inst.frame;
  const bmp = BITMAPS.get(fkey(inst.vid, f));
  if (bmp instanceof ImageBitmap) {
    if (inst.shown !== f || inst.shownVid !== inst.vid) {
      const c = inst.img;
      if (c.width !== bmp.width || c.height !== bmp.height) { c.width = bmp.width; c.height = bmp.height; }
      c.getContext("2d").drawImage(bmp, 0, 0);
      inst.shown = f;
      inst.shownVid = inst.vid;
      c.dataset.frame = String(f);
      c.classList.add("ready");
      inst.el.dispatchEvent(new CustomEvent("framepainted", { detail: f }));
    }
    inst.loadingEl.classList.add("hidden");
  } else {
    decodeFrame(inst.vid, f); // shown when decoded (or when Python sends it)
    if (!FRAMES.has(fkey(inst.vid, f))) inst.loadingEl.classList.remove("hidden");
  }
  inst.el.dataset.frame = String(f);
  inst.el.dataset.shown = String(inst.shown === f && inst.shownVid === inst.vid);
  inst.hud.textContent = `${f}`;
  drawPose(inst);
  predecode(inst);
}

// ---- pose skeleton (on its own canvas over the frame: the frame's pixels stay as decoded) ------
// Frames held without the landmarks of the current track version are asked for again (with them).
function lacksPose(inst, i) {
  return !!inst.poseTag && SHOW_POSE && !POSE.has(fkey(inst.vid, i));
}

function drawPose(inst) {
  const c = inst.skel, img = inst.img;
  const f = inst.shownVid === inst.vid ? inst.shown : -1; // the skeleton of the frame on screen
  const lm = f >= 0 ? POSE.get(fkey(inst.vid, f)) : undefined;
  const state = !inst.poseTag ? "none" : !SHOW_POSE ? "off" : lm ? "on" : lm === null ? "nopose" : "waiting";
  inst.el.dataset.pose = state;
  if (c.width !== img.width || c.height !== img.height) { c.width = img.width; c.height = img.height; }
  const ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  c.classList.toggle("ready", state === "on" || state === "nopose");
  if (state === "nopose") {
    ctx.font = `600 ${Math.max(12, Math.round(c.height / 28))}px sans-serif`;
    ctx.fillStyle = "rgba(0,0,0,.55)";
    const text = "no pose on this frame";
    const tw = ctx.measureText(text).width;
    ctx.fillRect(c.width - tw - 16, c.height - 30, tw + 12, 24);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, c.width - tw - 10, c.height - 12);
    return;
  }
  if (state !== "on") return;
  const sx = c.width / (inst.poseW || c.width), sy = c.height / (inst.poseH || c.height);
  const xy = lm.xy, vis = lm.v || "";
  const lw = Math.max(2, Math.round(c.height / 160));
  ctx.lineCap = "round";
  ctx.lineWidth = lw;
  for (const [a, b] of inst.poseEdges || []) {
    const seen = vis[a] === "1" && vis[b] === "1";
    const left = inst.poseLeft.has(a) || inst.poseLeft.has(b);
    ctx.strokeStyle = !seen ? "rgba(200,200,200,.55)" : left ? "rgba(255,120,0,.95)" : "rgba(0,170,255,.95)";
    ctx.beginPath();
    ctx.moveTo(xy[2 * a] * sx, xy[2 * a + 1] * sy);
    ctx.lineTo(xy[2 * b] * sx, xy[2 * b + 1] * sy);
    ctx.stroke();
  }
  for (let k = 0; k < xy.length / 2; k++) {
    if (k > 0 && k < 11 && k !== 7 && k !== 8) continue; // the face: nose and ears only
    ctx.fillStyle = vis[k] === "1" ? "#40c057" : "rgba(200,200,200,.7)";
    ctx.beginPath();
    ctx.arc(xy[2 * k] * sx, xy[2 * k + 1] * sy, lw * 1.2, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function togglePose(inst) {
  SHOW_POSE = !SHOW_POSE;
  try { localStorage.setItem("labeler.pose", SHOW_POSE ? "1" : "0"); } catch (e) { /* no storage */ }
  inst.msgEl.textContent = !inst.poseTag
    ? "This video has no pose track yet: compute it under “Pose track” below the labeller."
    : `Pose skeleton ${SHOW_POSE ? "shown" : "hidden"} (P).`;
  inst.msgEl.className = "msg info";
  for (const other of instances.values()) drawPose(other);
  maybeRequest(inst); // landmarks of the frames held, when the skeleton comes back
}

function setPose(inst, vid, pose) {
  const tag = pose && pose.tag ? pose.tag : null;
  if (POSE_TAG.get(vid) !== tag) { // another track version: its landmarks replace the old ones
    for (const k of [...POSE.keys()]) if (k.startsWith(vid + ":")) POSE.delete(k);
    POSE_TAG.set(vid, tag);
  }
  inst.poseTag = tag;
  if (tag) {
    inst.poseEdges = pose.edges || inst.poseEdges || [];
    inst.poseLeft = new Set(pose.left || []);
    inst.poseW = pose.fw;
    inst.poseH = pose.fh;
    for (const [i, lm] of Object.entries(pose.lm || {})) POSE.set(fkey(vid, +i), lm);
    if (pose.signals) {
      const series = pose.signals.series.map((s) => {
        const vals = s.values.filter((v) => v !== null).sort((a, b) => a - b);
        const q = (p) => vals.length ? vals[Math.min(vals.length - 1, Math.floor(p * (vals.length - 1)))] : 0;
        let lo = q(0.02), hi = q(0.98);
        if (hi - lo < 0.02) { lo -= 0.01; hi += 0.01; }
        return { ...s, lo, hi };
      });
      SIGNALS.set(vid, { tag, frames: pose.signals.frames, series });
    }
  }
  const sig = SIGNALS.get(vid);
  inst.signals = tag && sig && sig.tag === tag ? sig : null;
}

function evict(inst) {
  if (FRAMES.size <= FRAME_CAP) return;
  const scored = [];
  for (const k of FRAMES.keys()) {
    const [vid, i] = k.split(":");
    const d = +vid === inst.vid ? Math.abs(+i - inst.frame) + (+i < inst.frame ? 15 : 0) : 1e9;
    scored.push([d, k]);
  }
  scored.sort((a, b) => b[0] - a[0]);
  const drop = FRAMES.size - FRAME_CAP;
  for (let j = 0; j < drop && j < scored.length; j++) {
    FRAMES.delete(scored[j][1]);
    POSE.delete(scored[j][1]);
  }
}

function togglePlay(inst) {
  inst.playing = !inst.playing;
  if (inst.playing) {
    if (inst.frame >= inst.nframes - 1) setFrame(inst, 0);
    inst.playT = performance.now();
    inst.playAcc = 0;
    requestAnimationFrame((t) => tick(inst, t));
  }
  renderBar(inst);
  maybeRequest(inst);
}

function tick(inst, t) {
  if (!inst.playing || !inst.el.isConnected) return;
  const dt = Math.min(0.25, Math.max(0, (t - inst.playT) / 1000));
  inst.playT = t;
  inst.playAcc += dt * inst.fps * inst.speed;
  const steps = Math.floor(inst.playAcc);
  if (steps > 0) {
    // the latest frame that is due and decoded; none: buffering (the clock waits, never skips ahead)
    const due = Math.min(inst.nframes - 1, inst.frame + steps);
    let h = inst.frame;
    for (let g = due; g > inst.frame; g--) if (BITMAPS.get(fkey(inst.vid, g)) instanceof ImageBitmap) { h = g; break; }
    if (h > inst.frame) { inst.playAcc -= h - inst.frame; setFrame(inst, h); }
    inst.playAcc = Math.min(inst.playAcc, 2 * stride(inst) + 1);
    if (inst.frame >= inst.nframes - 1) { inst.playing = false; renderBar(inst); }
  }
  if (performance.now() - (inst.lastPlayReq || 0) > 300) { inst.lastPlayReq = performance.now(); maybeRequest(inst); }
  if (inst.playing) requestAnimationFrame((t2) => tick(inst, t2));
}

// ---- rendering --------------------------------------------------------------------------------
function fmtTime(frame, fps) {
  const s = fps > 0 ? frame / fps : 0;
  const m = Math.floor(s / 60);
  return m ? `${m}:${(s - m * 60).toFixed(2).padStart(5, "0")}` : `${s.toFixed(2)} s`;
}

function renderPalette(inst) {
  const sig = JSON.stringify([inst.labels, inst.label]);
  if (sig === inst.paletteSig) return;
  inst.paletteSig = sig;
  inst.palette.replaceChildren(...inst.labels.map((l, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chip" + (l.name === inst.label ? " on" : "");
    b.dataset.label = l.name;
    b.title = i < 9 ? `Key ${i + 1}` : "click to choose";
    b.innerHTML = `${i < 9 ? `<span class="k">${i + 1}</span>` : ""}<span class="sw" style="background:${l.color}"></span>`;
    b.append(document.createTextNode(l.name));
    b.onclick = () => { inst.label = l.name; renderPalette(inst); pushEvent(inst, { type: "label", label: l.name }); };
    return b;
  }));
}

function repText(inst, r, who) {
  const l = inst.labels[r[2]];
  const rev = r[4] === 1 ? " · accepted" : r[4] === -1 ? " · rejected" : "";
  return `${who ? who + ": " : ""}${l ? l.name : "?"} ${r[0]}–${r[1]} (${r[1] - r[0] + 1} fr)${rev}`;
}

function renderBar(inst) {
  inst.playBtn.textContent = inst.playing ? "⏸" : "▶";
  inst.fno.textContent = String(inst.frame);
  inst.ftotal.textContent = ` / ${Math.max(0, inst.nframes - 1)}`;
  inst.timeEl.textContent = fmtTime(inst.frame, inst.fps);
  inst.speedEl.textContent = `${inst.speed}×`;
  const sel = inst.selected && (inst.reps.find((r) => r[3] === inst.selected) || (inst.other || []).find((r) => r[3] === inst.selected));
  inst.curEl.textContent = sel ? `selected: ${repText(inst, sel)}` : "";
  if (inst.open) {
    const l = inst.labels[inst.open.label];
    inst.openEl.classList.remove("hidden");
    inst.openEl.style.background = l ? l.color : "#c00";
    inst.openEl.textContent = `● ${l ? l.name : "rep"} from ${inst.open.start}${inst.frame >= inst.open.start ? ` (${inst.frame - inst.open.start + 1} fr)` : ""}`;
  } else {
    inst.openEl.classList.add("hidden");
  }
  const span = inst.view[1] - inst.view[0];
  inst.zoomEl.textContent = span < inst.nframes ? `${Math.round(inst.view[0])}–${Math.round(inst.view[1])}` : "";
}

function renderSync(inst) {
  inst.el.dataset.seq = String(SEQ);
  inst.el.dataset.ack = String(inst.ack);
  inst.el.dataset.pending = String(inst.pending.length);
}

function renderMessage(inst, m) {
  if (!m || m.n === inst.msgN) return;
  inst.msgN = m.n;
  inst.msgEl.textContent = m.text || "";
  inst.msgEl.className = "msg " + (m.text ? (m.kind === "error" ? "error" : "info") : "");
  if (m.text) { void inst.msgEl.offsetWidth; inst.msgEl.classList.add("flash"); }
}

// ---- timeline ---------------------------------------------------------------------------------
const RULER = 16, LANE = 22, GAP = 4, SIG = 44; // SIG: the joint-signal strip under the lanes

function lanes(inst) {
  const out = [{ y: RULER + 2, reps: inst.reps, who: inst.me, mine: true }];
  if (inst.other) out.push({ y: RULER + 2 + LANE + GAP, reps: inst.other, who: inst.otherName, mine: false });
  return out;
}

function lanesBottom(inst) { return RULER + 2 + LANE + (inst.other ? GAP + LANE : 0); }

function sizeTimeline(inst) {
  const h = lanesBottom(inst) + (inst.signals ? GAP + SIG : 0) + 6;
  const w = Math.max(100, inst.canvas.clientWidth || inst.el.clientWidth || 600);
  const dpr = window.devicePixelRatio || 1;
  if (inst.canvas.width !== Math.round(w * dpr) || inst.canvas.height !== Math.round(h * dpr)) {
    inst.canvas.width = Math.round(w * dpr);
    inst.canvas.height = Math.round(h * dpr);
    inst.canvas.style.height = h + "px";
  }
  return { w, h, dpr };
}

function xOf(inst, frame, w) { return ((frame - inst.view[0]) / (inst.view[1] - inst.view[0])) * w; }
function frameAt(inst, x, w) { return inst.view[0] + (x / w) * (inst.view[1] - inst.view[0]); }

function niceStep(framesPerPx, fps) {
  const secs = [1 / fps, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 3600];
  for (const s of secs) if ((s * fps) / framesPerPx >= 70) return s;
  return 3600;
}

function drawTimeline(inst) {
  if (!inst.nframes) return;
  const { w, h, dpr } = sizeTimeline(inst);
  const ctx = inst.canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const [v0, v1] = inst.view;
  const fpp = (v1 - v0) / w;
  // ruler
  ctx.fillStyle = "rgba(0,0,0,.06)";
  ctx.fillRect(0, 0, w, RULER);
  ctx.font = "10px sans-serif";
  ctx.fillStyle = "#555";
  ctx.strokeStyle = "rgba(0,0,0,.25)";
  const step = niceStep(fpp, inst.fps || 30);
  const stepF = step * (inst.fps || 30);
  ctx.beginPath();
  for (let f = Math.ceil(v0 / stepF) * stepF; f <= v1; f += stepF) {
    const x = Math.round(xOf(inst, f, w)) + 0.5;
    ctx.moveTo(x, RULER - 5); ctx.lineTo(x, RULER);
    const label = step < 1 ? `${Math.round(f)} fr` : fmtTime(f, inst.fps).replace(".00 s", " s");
    ctx.fillText(label, x + 2, 10);
  }
  ctx.stroke();
  // lanes
  for (const lane of lanes(inst)) {
    ctx.fillStyle = lane.mine ? "rgba(255,255,255,.8)" : "rgba(255,255,255,.45)";
    ctx.fillRect(0, lane.y, w, LANE);
    const reps = lane.reps || [];
    // first rep that can be visible (reps are sorted by start; they do not overlap within a lane)
    let lo = 0, hi = reps.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (reps[m][1] < v0) lo = m + 1; else hi = m; }
    for (let j = lo; j < reps.length; j++) {
      const r = reps[j];
      if (r[0] > v1) break;
      const x0 = xOf(inst, r[0], w), x1 = Math.max(x0 + 1, xOf(inst, r[1] + 1, w));
      const l = inst.labels[r[2]];
      ctx.globalAlpha = lane.mine ? (r[4] === -1 ? 0.35 : 0.95) : (r[4] === -1 ? 0.25 : 0.6);
      ctx.fillStyle = l ? l.color : "#888";
      ctx.fillRect(x0, lane.y + 2, x1 - x0, LANE - 4);
      ctx.globalAlpha = 1;
      if (x1 - x0 > 3) { ctx.fillStyle = "rgba(0,0,0,.45)"; ctx.fillRect(x0, lane.y + 2, 1, LANE - 4); } // rep start
      if (r[4] === 1 && x1 - x0 > 6) { ctx.fillStyle = "rgba(0,0,0,.55)"; ctx.fillRect(x0, lane.y + LANE - 5, x1 - x0, 2); }
      if (r[3] === inst.selected) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
        ctx.strokeRect(x0 - 1, lane.y + 1, x1 - x0 + 2, LANE - 2);
        ctx.strokeStyle = "#fff"; ctx.lineWidth = 1;
        ctx.strokeRect(x0 + 1, lane.y + 3, Math.max(1, x1 - x0 - 2), LANE - 6);
      }
      if (x1 - x0 > 40) {
        ctx.fillStyle = "rgba(0,0,0,.75)";
        ctx.font = "10px sans-serif";
        ctx.fillText(`${r[0]}–${r[1]}`, x0 + 3, lane.y + 14, x1 - x0 - 5);
      }
    }
    if (lane.who) { // the lane's annotator, in a pill at the left
      ctx.font = "10px sans-serif";
      const tw = ctx.measureText(lane.who).width;
      ctx.fillStyle = "rgba(255,255,255,.85)";
      ctx.fillRect(2, lane.y + 5, tw + 8, 13);
      ctx.fillStyle = "rgba(0,0,0,.7)";
      ctx.fillText(lane.who, 6, lane.y + 15);
    }
  }
  if (inst.signals) drawSignals(inst, ctx, w, lanesBottom(inst) + GAP);
  // the open rep: from its start to the cursor, hatched
  if (inst.open) {
    const l = inst.labels[inst.open.label];
    const y = RULER + 2;
    const a = inst.open.start, b = Math.max(inst.open.start, inst.frame);
    const x0 = xOf(inst, a, w), x1 = Math.max(x0 + 2, xOf(inst, b + 1, w));
    ctx.save();
    ctx.beginPath(); ctx.rect(x0, y + 2, x1 - x0, LANE - 4); ctx.clip();
    ctx.globalAlpha = 0.35; ctx.fillStyle = l ? l.color : "#c00"; ctx.fillRect(x0, y + 2, x1 - x0, LANE - 4);
    ctx.globalAlpha = 0.9; ctx.strokeStyle = l ? l.color : "#c00"; ctx.lineWidth = 2;
    for (let x = x0 - LANE; x < x1; x += 8) { ctx.moveTo(x, y + LANE); ctx.lineTo(x + LANE, y); }
    ctx.stroke();
    ctx.restore();
    ctx.fillStyle = l ? l.color : "#c00";
    ctx.fillRect(x0 - 1, y, 3, LANE);
  }
  // cursor
  const cx = Math.round(xOf(inst, inst.frame + 0.5, w)) + 0.5;
  ctx.strokeStyle = "#d9480f"; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(cx, 0); ctx.lineTo(cx, h); ctx.stroke();
  ctx.fillStyle = "#d9480f";
  ctx.beginPath(); ctx.moveTo(cx - 5, 0); ctx.lineTo(cx + 5, 0); ctx.lineTo(cx, 6); ctx.fill();
}

// Hip and wrist height (frame units, each scaled to its 2–98 % range over the video) on the
// timeline's own frame axis: a sampled frame f is drawn at the middle of f's column.
function drawSignals(inst, ctx, w, y) {
  const { frames, series } = inst.signals;
  const [v0, v1] = inst.view;
  ctx.fillStyle = "rgba(255,255,255,.6)";
  ctx.fillRect(0, y, w, SIG);
  let lo = 0, hi = frames.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (frames[m] < v0 - 1) lo = m + 1; else hi = m; }
  const first = Math.max(0, lo - 1);
  series.forEach((s, k) => {
    ctx.lineWidth = k === 0 ? 2.5 : 1.5; // the first (hip) under the others, wider
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    let pen = false;
    for (let j = first; j < frames.length; j++) {
      const v = s.values[j];
      if (v === null) { pen = false; continue; }
      const x = xOf(inst, frames[j] + 0.5, w);
      const t = clamp((v - s.lo) / (s.hi - s.lo), -0.05, 1.05);
      const yy = y + SIG - 3 - t * (SIG - 6);
      if (pen) ctx.lineTo(x, yy); else ctx.moveTo(x, yy);
      pen = true;
      if (frames[j] > v1 + 1) break;
    }
    ctx.stroke();
  });
  ctx.font = "10px sans-serif";
  let x = 4;
  for (const s of series) {
    const text = `${s.name} height`;
    const tw = ctx.measureText(text).width;
    ctx.fillStyle = "rgba(255,255,255,.85)";
    ctx.fillRect(x - 2, y + 2, tw + 4, 12);
    ctx.fillStyle = s.color;
    ctx.fillText(text, x, y + 11);
    x += tw + 10;
  }
}

function signalText(inst, f) {
  const { frames, series } = inst.signals;
  let lo = 0, hi = frames.length - 1;
  while (lo < hi) { const m = (lo + hi) >> 1; if (frames[m] < f) lo = m + 1; else hi = m; }
  if (lo > 0 && Math.abs(frames[lo - 1] - f) < Math.abs(frames[lo] - f)) lo--;
  const parts = series.map((s) => `${s.name} ${s.values[lo] === null ? "—" : s.values[lo].toFixed(2)}`);
  return `frame ${frames[lo]}: ${parts.join(", ")} (height, frame units) — click to go there`;
}

function keepCursorVisible(inst) {
  const [v0, v1] = inst.view, span = v1 - v0;
  if (span >= inst.nframes) return;
  if (inst.frame < v0 || inst.frame + 1 > v1) {
    let n0 = inst.frame < v0 ? inst.frame - span * 0.1 : inst.frame - span * 0.9;
    n0 = clamp(n0, 0, inst.nframes - span);
    inst.view = [n0, n0 + span];
  }
}

function zoom(inst, factor, center) {
  const [v0, v1] = inst.view;
  const span = clamp((v1 - v0) * factor, Math.min(30, inst.nframes), inst.nframes);
  const c = center === undefined ? inst.frame + 0.5 : center;
  const ratio = (c - v0) / (v1 - v0);
  let n0 = clamp(c - ratio * span, 0, inst.nframes - span);
  inst.view = [n0, n0 + span];
  drawTimeline(inst);
  renderBar(inst);
}

function hitRep(inst, x, y, w) {
  for (const lane of lanes(inst)) {
    if (y < lane.y || y > lane.y + LANE) continue;
    const f = frameAt(inst, x, w), tol = 3 * ((inst.view[1] - inst.view[0]) / w);
    let best = null, bestD = Infinity;
    for (const r of lane.reps || []) {
      const d = f < r[0] ? r[0] - f : f > r[1] + 1 ? f - r[1] - 1 : 0;
      if (d <= tol && d < bestD) { best = r; bestD = d; }
      if (r[0] > f + tol) break;
    }
    return { lane, rep: best };
  }
  return { lane: null, rep: null };
}

function wireTimeline(inst) {
  const c = inst.canvas;
  let down = null;
  c.addEventListener("wheel", (e) => {
    e.preventDefault();
    const rect = c.getBoundingClientRect();
    if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      const fpp = (inst.view[1] - inst.view[0]) / rect.width;
      const span = inst.view[1] - inst.view[0];
      const n0 = clamp(inst.view[0] + e.deltaX * fpp, 0, inst.nframes - span);
      inst.view = [n0, n0 + span];
      drawTimeline(inst); renderBar(inst);
    } else {
      zoom(inst, e.deltaY > 0 ? 1.25 : 0.8, frameAt(inst, e.clientX - rect.left, rect.width));
    }
  }, { passive: false });
  c.addEventListener("pointerdown", (e) => {
    const rect = c.getBoundingClientRect();
    down = { x: e.clientX, v0: inst.view[0], w: rect.width, left: rect.left, top: rect.top, moved: false };
    c.setPointerCapture(e.pointerId);
  });
  c.addEventListener("pointermove", (e) => {
    const rect = c.getBoundingClientRect();
    if (down) {
      const dx = e.clientX - down.x;
      if (Math.abs(dx) > 3) down.moved = true;
      if (down.moved) {
        c.classList.add("dragging");
        const span = inst.view[1] - inst.view[0];
        const n0 = clamp(down.v0 - dx * (span / down.w), 0, inst.nframes - span);
        inst.view = [n0, n0 + span];
        drawTimeline(inst); renderBar(inst);
      }
      return;
    }
    const { lane, rep } = hitRep(inst, e.clientX - rect.left, e.clientY - rect.top, rect.width);
    const f = Math.floor(frameAt(inst, e.clientX - rect.left, rect.width));
    if (inst.signals && e.clientY - rect.top > lanesBottom(inst)) { c.title = signalText(inst, f); return; }
    c.title = rep ? repText(inst, rep, lane.who) : `frame ${clamp(f, 0, inst.nframes - 1)} — click to go there, drag to pan, wheel to zoom`;
  });
  c.addEventListener("pointerup", (e) => {
    if (!down) return;
    const d = down;
    down = null;
    c.classList.remove("dragging");
    if (d.moved) return;
    const x = e.clientX - d.left, y = e.clientY - d.top;
    const { rep } = hitRep(inst, x, y, d.w);
    if (rep) {
      inst.selected = rep[3];
      drawTimeline(inst); renderBar(inst);
      pushEvent(inst, { type: "select", uuid: rep[3] });
    } else {
      setFrame(inst, Math.floor(frameAt(inst, x, d.w)));
    }
  });
}

// ---- instance ---------------------------------------------------------------------------------
function create(parentElement) {
  const q = (s) => parentElement.querySelector(s);
  const inst = {
    parentElement, el: q(".lab"), img: q(".frame"), skel: null, stage: q(".stage"), hud: q(".hud"), openEl: q(".openbadge"),
    loadingEl: q(".loading"), keymapEl: q(".keymap"), palette: q(".palette"), playBtn: q(".play"),
    fno: q(".fno"), ftotal: q(".ftotal"), timeEl: q(".time"), speedEl: q(".speed"), curEl: q(".cur"),
    zoomEl: q(".zoomlabel"), canvas: q(".timeline"), msgEl: q(".msg"),
    vid: null, nframes: 0, fps: 30, frame: 0, shown: -1, shownVid: null, speed: 1,
    labels: [], label: null, reps: [], other: null, otherName: "", me: "", open: null, selected: null,
    pending: [], ack: 0, inflight: null, msgN: null, playing: false, view: [0, 1], setStateValue: () => {},
    poseTag: null, poseEdges: [], poseLeft: new Set(), poseW: 0, poseH: 0, signals: null,
  };
  inst.skel = q(".skel") || document.createElement("canvas");
  if (!inst.skel.isConnected) { inst.skel.className = "skel"; inst.skel.setAttribute("aria-hidden", "true"); inst.img.after(inst.skel); }
  // Buttons of the labeller never take the focus, so Space and Enter stay shortcuts after a click.
  parentElement.addEventListener("mousedown", (e) => { if (e.target.closest && e.target.closest("button")) e.preventDefault(); });
  inst.playBtn.onclick = () => togglePlay(inst);
  q(".zoomin").onclick = () => zoom(inst, 0.5);
  q(".zoomout").onclick = () => zoom(inst, 2);
  q(".zoomfit").onclick = () => { inst.view = [0, inst.nframes]; drawTimeline(inst); renderBar(inst); };
  q(".help").onclick = () => inst.keymapEl.classList.toggle("hidden");
  wireTimeline(inst);
  inst.resize = new ResizeObserver(() => drawTimeline(inst));
  inst.resize.observe(inst.canvas);
  window.addEventListener("keydown", onKeyDown, true);
  return inst;
}

function destroy(inst) {
  inst.playing = false;
  inst.resize.disconnect();
  instances.delete(inst.parentElement);
  if (ACTIVE === inst) ACTIVE = [...instances.values()].pop() || null;
  if (!ACTIVE) window.removeEventListener("keydown", onKeyDown, true);
}

function update(inst, raw) {
  const data = unpack(raw);
  if (!data || !data.video) return;
  const v = data.video;
  if (v.id !== inst.vid) {
    inst.vid = v.id;
    inst.nframes = v.frames;
    inst.fps = v.fps || 30;
    inst.frame = clamp(data.frame || 0, 0, Math.max(0, v.frames - 1));
    inst.pending = [];
    inst.inflight = null;
    inst.playing = false;
    inst.view = [0, v.frames];
    inst.img.classList.remove("ready");
    inst.shown = -1;
    inst.stage.style.aspectRatio = `${v.dw} / ${v.dh}`;
  }
  inst.speed = data.speed || 1;
  inst.labels = data.labels || [];
  inst.me = data.me || "";
  inst.reps = data.reps || [];
  inst.other = data.other || null;
  inst.otherName = data.other_name || "";
  inst.open = data.open || null;
  if (data.keymap && !inst.keymapFilled) {
    inst.keymapFilled = true;
    const t = inst.keymapEl.querySelector(".keymap-table");
    t.replaceChildren(...data.keymap.map(([k, what]) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td"); a.textContent = k;
      const b = document.createElement("td"); b.textContent = what;
      tr.append(a, b);
      return tr;
    }));
  }
  setPose(inst, v.id, data.pose);
  if (data.frames) {
    for (const [i, jpeg] of Object.entries(data.frames)) {
      const k = fkey(v.id, +i);
      if (!FRAMES.has(k)) FRAMES.set(k, jpeg.slice()); // a copy: the message buffer can go
    }
  }
  if (data.client === CLIENT) {
    inst.ack = Math.max(inst.ack, data.ack || 0);
    inst.pending = inst.pending.filter((e) => e.seq > inst.ack);
    if (inst.inflight && (data.rid || 0) >= inst.inflight.rid) inst.inflight = null;
  } else if (data.client) {
    inst.inflight = null; // answered a request of an earlier page: ours are still to come
  }
  if (!inst.pending.length) { // while keys are on their way, the page's own choice stands
    inst.selected = data.selected || null;
    if (data.label) inst.label = data.label;
  }
  if (data.seek && data.seek.n > SEEK_SEEN) {
    SEEK_SEEN = data.seek.n;
    if (data.seek.nav === null || data.seek.nav === undefined || (data.client === CLIENT && data.seek.nav === NAV)) {
      setFrame(inst, data.seek.frame, false);
    }
  }
  evict(inst);
  renderPalette(inst);
  renderMessage(inst, data.message);
  showFrame(inst);
  renderBar(inst);
  renderSync(inst);
  drawTimeline(inst);
  if (inst.pending.length && !inst.inflight) send(inst); // events the last answer did not cover
  else maybeRequest(inst);
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let inst = instances.get(parentElement);
  if (!inst) {
    inst = create(parentElement);
    instances.set(parentElement, inst);
  }
  ACTIVE = inst;
  inst.setStateValue = setStateValue;
  update(inst, data);
  // Streamlit may call an earlier render's cleanup while the component stays mounted (a newer
  // render replaced it); only tear down once the element has really left the page.
  return () => setTimeout(() => { if (!inst.el.isConnected) destroy(inst); }, 200);
}
