/*  app.js - the CPEC dashboard: plain JavaScript, no framework, served by cpec-gateway beside index.html.

    Views (the fragment is the route, so moving between them never reloads the page):
      #/             the 9 zones with province, status and progress (#zones, one .zone[data-zone-id] each)
      #/zone/ID      a zone and its milestone timeline (#timeline, one .milestone[data-milestone-id] each:
                     baseline, planned, forecast and actual dates; .critical rows carry a .crit-mark;
                     .delayed rows are red)
      #/portfolio    the portfolio by province (#portfolio)
      #/matches      the match funnel and recent matches (#matches), when the matchmaking service answers
    and, beside every view, the live alerts (#alerts, one .alert[data-type][data-milestone-id] each, newest
    first) read from GET /v1/events/stream.

    The token: taken from the fragment (#token=...), kept in sessionStorage (this tab only) and removed from
    the address bar at once; otherwise asked for in a form. It goes in the Authorization header of every
    call, never in a URL (a query string would land in logs).

    The event stream is Server-Sent Events, read with fetch() and a small parser rather than EventSource,
    which cannot send an Authorization header: each event's id is sent back as Last-Event-ID when the
    connection is made again after a drop, with a growing delay between attempts.

    Names are shown in English, Chinese and Urdu (Urdu right to left: dir="rtl"). Everything the API says is
    put in the page as text (textContent), never parsed as HTML. */
"use strict";

(function () {
    const TOKEN_KEY = "cpec.dashboard.token";
    const MAX_ALERTS = 200;
    const STREAM_IDLE_MS = 45000; //  no byte (keepalives included) for this long: the connection is dead
    const BACKOFF_MIN_MS = 1000;
    const BACKOFF_MAX_MS = 30000;

    //  The alerts panel shows these event types (and every Match* type).
    const ALERT_TYPES = new Set([
        "MilestoneDelayed", "MilestoneAtRisk", "MilestoneBackOnTrack", "MilestoneCompleted",
        "MilestoneReplanned",
    ]);
    const ALERT_LABELS = {
        MilestoneDelayed: "Delayed",
        MilestoneAtRisk: "At risk",
        MilestoneBackOnTrack: "Back on track",
        MilestoneCompleted: "Completed",
        MilestoneReplanned: "Re-planned",
        MatchProposed: "Match proposed",
        MatchInterest: "Match: interest",
        MatchMutualInterest: "Match: mutual interest",
        MatchMeetingScheduled: "Match: meeting scheduled",
        MatchMouSigned: "Match: MoU signed",
        MatchEntryApplication: "Match: zone entry application",
        MatchPlotAllotted: "Match: plot allotted",
        MatchInProduction: "Match: in production",
        MatchDeclined: "Match declined",
        MatchExpired: "Match expired",
        MatchExpiring: "Match expiring",
    };

    //  Provinces and territories (ISO 3166-2:PK). The Chinese and Urdu names should be checked by a fluent
    //  reader, like services/notify/templates.json.
    const PROVINCES = {
        "PK-KP": ["Khyber Pakhtunkhwa", "开伯尔-普什图省", "خیبر پختونخوا"],
        "PK-PB": ["Punjab", "旁遮普省", "پنجاب"],
        "PK-SD": ["Sindh", "信德省", "سندھ"],
        "PK-BA": ["Balochistan", "俾路支省", "بلوچستان"],
        "PK-IS": ["Islamabad Capital Territory", "伊斯兰堡首都区", "اسلام آباد وفاقی دارالحکومت"],
        "PK-JK": ["Azad Jammu and Kashmir", "阿扎德查谟-克什米尔", "آزاد جموں و کشمیر"],
        "PK-GB": ["Gilgit-Baltistan", "吉尔吉特-巴尔蒂斯坦", "گلگت بلتستان"],
    };

    //  The SEZ Act 2012 path (Sez.Status), in order.
    const SEZ_STAGES = [
        "PROPOSED", "APPLICATION_SUBMITTED", "APPROVALS_COMMITTEE", "BOA_APPROVED",
        "DEVELOPMENT_AGREEMENT_SIGNED", "NOTIFIED", "UNDER_DEVELOPMENT", "OPERATIONAL",
    ];
    const SEZ_STATUS_LABELS = {
        PROPOSED: "Proposed",
        APPLICATION_SUBMITTED: "Application submitted",
        APPROVALS_COMMITTEE: "Before the Approvals Committee",
        BOA_APPROVED: "Approved by the Board of Approvals",
        DEVELOPMENT_AGREEMENT_SIGNED: "Development agreement signed",
        NOTIFIED: "Notified",
        UNDER_DEVELOPMENT: "Under development",
        OPERATIONAL: "Operational",
    };
    //  Match.State in funnel order.
    const MATCH_STATES = [
        "PROPOSED", "INTEREST", "MUTUAL_INTEREST", "MEETING_SCHEDULED", "MOU_SIGNED", "ENTRY_APPLICATION",
        "PLOT_ALLOTTED", "IN_PRODUCTION", "DECLINED", "EXPIRED",
    ];
    const MATCH_STATE_LABELS = { MOU_SIGNED: "MoU signed", ENTRY_APPLICATION: "Zone entry application" };

    const state = {
        token: "",
        sezs: null,          //  the zones (ListSezs, every page)
        sezById: new Map(),
        portfolio: null,     //  PortfolioResponse, or null when the milestones service did not answer
        portfolioError: null,
        overviewAt: 0,       //  when sezs/portfolio were loaded (0: to load)
        titles: new Map(),   //  milestone id -> title, from the schedules seen
        enterprises: new Map(), //  enterprise id -> Enterprise (names in the matches view)
        renderSeq: 0,
        alerts: [],
        seenEvents: new Set(),
    };
    const live = {
        controller: null,
        timer: null,
        idleTimer: null,
        attempt: 0,
        lastId: "",          //  the last event id received, sent back as Last-Event-ID
        retryMs: BACKOFF_MIN_MS,
        status: "off",
    };

    const $ = (selector) => document.querySelector(selector);

    //  ----------------------------------------------------------------------
    //  DOM helpers

    //  h("a", {href: "#/", class: "x", dataset: {zoneId: "r"}}, "text", child...): an element.
    function h(tag, attrs, ...children) {
        const el = document.createElement(tag);
        for (const [key, value] of Object.entries(attrs || {})) {
            if (value === null || value === undefined || value === false) continue;
            if (key === "class") el.className = value;
            else if (key === "dataset") {
                for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) el.dataset[k] = v;
            } else if (key === "style") Object.assign(el.style, value);
            else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
            else el.setAttribute(key, value === true ? "" : String(value));
        }
        append(el, children);
        return el;
    }

    function append(el, children) {
        for (const child of children.flat(Infinity)) {
            if (child === null || child === undefined || child === false) continue;
            el.append(child instanceof Node ? child : String(child));
        }
        return el;
    }

    //  English, Chinese and Urdu names side by side; the empty ones left out.
    function names(en, zh, ur, tag) {
        return h(tag || "span", { class: "names" },
            h("span", { class: "name-en", lang: "en" }, en || ""),
            zh ? h("span", { class: "name-zh", lang: "zh-Hans" }, zh) : null,
            ur ? h("span", { class: "name-ur", lang: "ur", dir: "rtl" }, ur) : null);
    }

    function provinceNames(code) {
        const p = PROVINCES[code];
        return p ? names(p[0], p[1], p[2]) : names(code || "—");
    }

    function provinceName(code) {
        return (PROVINCES[code] || [code || "—"])[0];
    }

    //  "UNDER_DEVELOPMENT" -> "Under development"
    function humanize(enumName) {
        if (!enumName) return "";
        const s = String(enumName).toLowerCase().replace(/_/g, " ");
        return s.charAt(0).toUpperCase() + s.slice(1);
    }

    //  Milliseconds of an RFC 3339 timestamp; NaN when absent.
    function ms(ts) {
        return ts ? Date.parse(ts) : NaN;
    }

    //  The UTC date of a timestamp ("2027-12-01"), or "—".
    function day(ts) {
        const t = ms(ts);
        return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : "—";
    }

    function dateCell(ts, cls) {
        return h("td", { class: cls || null }, Number.isFinite(ms(ts)) ? h("time", { datetime: ts }, day(ts)) : "—");
    }

    //  Local date and time of an event.
    function localTime(ts) {
        const t = ms(ts);
        if (!Number.isFinite(t)) return "";
        const d = new Date(t);
        const pad = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
            `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    }

    function days(n) {
        const v = Math.round(Number(n) || 0);
        return `${v} day${Math.abs(v) === 1 ? "" : "s"}`;
    }

    function percent(part, whole) {
        return whole > 0 ? Math.round((100 * part) / whole) : 0;
    }

    function progressBar(pct, label) {
        return h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
            "aria-valuenow": pct, "aria-label": label },
            h("div", { class: "bar", style: { width: `${pct}%` } }));
    }

    function errorBox(what, err) {
        const detail = err && err.code ? `${err.code}: ${err.message}` : String((err && err.message) || err);
        return h("p", { class: "error", role: "alert" }, `${what}: ${detail}`);
    }

    //  ----------------------------------------------------------------------
    //  The token

    function storeGet() {
        try {
            return sessionStorage.getItem(TOKEN_KEY) || "";
        } catch (e) {
            return state.token;
        }
    }

    function storeSet(token) {
        try {
            if (token) sessionStorage.setItem(TOKEN_KEY, token);
            else sessionStorage.removeItem(TOKEN_KEY);
        } catch (e) {
            //  storage off: the token lives in memory only
        }
    }

    //  #token=T (or #/zone/x&token=T): keeps T and takes it out of the address bar (replaceState: no new
    //  history entry, so Back does not bring it back). True when a token was found.
    function takeTokenFromFragment() {
        const hash = location.hash;
        const found = /(?:^#|&)token=([^&]*)/.exec(hash);
        if (!found) return false;
        let token = found[1];
        try {
            token = decodeURIComponent(token);
        } catch (e) {
            //  kept as written
        }
        let rest = hash.slice(1).split("&").filter((part) => !part.startsWith("token=")).join("&");
        if (!rest.startsWith("/")) rest = "/";
        history.replaceState(null, "", location.pathname + location.search + "#" + rest);
        if (token) {
            state.token = token;
            storeSet(token);
        }
        return true;
    }

    function showSignIn(message) {
        $("#layout").hidden = true;
        $("#nav").hidden = true;
        $("#sign-in").hidden = false;
        const error = $("#sign-in-error");
        error.hidden = !message;
        error.textContent = message || "";
        $("#token-input").focus();
    }

    function signOut(message) {
        state.token = "";
        storeSet("");
        stopLive();
        state.alerts = [];
        state.seenEvents.clear();
        state.sezs = null;
        state.portfolio = null;
        state.overviewAt = 0;
        $("#alerts").replaceChildren();
        $("#alerts-empty").hidden = false;
        $("#view").replaceChildren();
        showSignIn(message);
    }

    //  ----------------------------------------------------------------------
    //  The API

    class ApiError extends Error {
        constructor(status, code, message) {
            super(message || `HTTP ${status}`);
            this.status = status;
            this.code = code || `HTTP ${status}`;
        }
    }

    //  GET path as JSON; a 401 signs out (and throws).
    async function api(path) {
        if (!state.token) throw new ApiError(401, "UNAUTHENTICATED", "no token");
        let response;
        try {
            response = await fetch(path, {
                headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
                cache: "no-store",
            });
        } catch (e) {
            throw new ApiError(0, "UNAVAILABLE", `the gateway did not answer (${e.message})`);
        }
        let body = null;
        try {
            body = await response.json();
        } catch (e) {
            body = null;
        }
        if (response.status === 401) {
            signOut("The token was refused (unknown, revoked or mistyped). Paste a valid one.");
            throw new ApiError(401, "UNAUTHENTICATED", "the token was refused");
        }
        if (!response.ok) {
            const error = (body && body.error) || {};
            throw new ApiError(response.status, error.code, error.message);
        }
        return body || {};
    }

    //  Every item of a paged list: follows next_cursor until it is empty.
    async function listAll(path, field) {
        const items = [];
        let cursor = "";
        for (let page = 0; page < 1000; page++) {
            const sep = path.includes("?") ? "&" : "?";
            const body = await api(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
            items.push(...(body[field] || []));
            cursor = body.next_cursor || "";
            if (!cursor) break;
        }
        return items;
    }

    //  The zones and the portfolio, shared by the views; loaded again when events say they changed.
    async function loadOverview(force) {
        if (state.sezs && state.overviewAt && !force) return;
        const [sezs, portfolio] = await Promise.all([
            listAll("/v1/sezs?page_size=100", "sezs"),
            api("/v1/portfolio").then((p) => ({ ok: p }), (e) => {
                if (e.status === 401) throw e;
                return { error: e };
            }),
        ]);
        state.sezs = sezs;
        state.sezById = new Map(sezs.map((s) => [s.id, s]));
        state.portfolio = portfolio.ok || null;
        state.portfolioError = portfolio.error || null;
        state.overviewAt = Date.now();
    }

    function zoneLine(zoneId) {
        const lines = (state.portfolio && state.portfolio.zones) || [];
        return lines.find((line) => line.zone_id === zoneId) || null;
    }

    //  A zone's progress, from its line of the portfolio (one call for every zone, counted by the milestones
    //  service itself): completed milestones over those not cancelled. null when none is tracked.
    function zoneProgress(zoneId) {
        const line = zoneLine(zoneId);
        if (!line) return null;
        const counted = (line.total || 0) - (line.cancelled || 0);
        if (counted <= 0) return null;
        return { done: line.completed || 0, of: counted, pct: percent(line.completed || 0, counted), line };
    }

    function zoneName(zoneId) {
        const sez = state.sezById.get(zoneId);
        return sez ? sez.name : zoneId || "";
    }

    //  ----------------------------------------------------------------------
    //  Views

    function parseRoute() {
        let parts;
        try {
            parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
        } catch (e) {
            parts = [];
        }
        if (parts[0] === "zone" && parts[1]) return { view: "zone", id: parts[1] };
        if (parts[0] === "portfolio") return { view: "portfolio" };
        if (parts[0] === "matches") return { view: "matches" };
        return { view: "zones" };
    }

    //  Draws the current route. Builds the new content first and swaps it in whole (no flicker on a live
    //  refresh); a render overtaken by a later one is dropped.
    async function render() {
        if (!state.token) return;
        const seq = ++state.renderSeq;
        const route = parseRoute();
        for (const a of document.querySelectorAll("#nav a"))
            a.classList.toggle("current", a.dataset.view === (route.view === "zone" ? "zones" : route.view));
        let content;
        try {
            if (route.view === "zone") content = await zoneView(route.id);
            else if (route.view === "portfolio") content = await portfolioView();
            else if (route.view === "matches") content = await matchesView();
            else content = await zonesView();
        } catch (e) {
            if (e instanceof ApiError && e.status === 401) return;
            content = errorBox("Could not load this view", e);
        }
        if (seq !== state.renderSeq) return;
        $("#view").replaceChildren(content);
    }

    //  The zones: names, province, status on the SEZ Act path, progress of the tracked milestones.
    async function zonesView() {
        await loadOverview(false);
        document.title = "CPEC Special Economic Zones";
        const zones = state.sezs.slice().sort((a, b) =>
            (b.fast_track === true) - (a.fast_track === true) || String(a.name).localeCompare(String(b.name)));
        const list = h("ul", { id: "zones", class: "zones" }, zones.map(zoneCard));
        return h("section", { class: "view-zones" },
            h("h2", {}, `Zones (${zones.length})`),
            state.portfolioError ? errorBox("Progress unavailable (milestones)", state.portfolioError) : null,
            list);
    }

    function zoneCard(sez) {
        const progress = zoneProgress(sez.id);
        const stage = SEZ_STAGES.indexOf(sez.status) + 1;
        const line = progress && progress.line;
        return h("li", {
            class: `zone${line && line.delayed ? " has-delayed" : ""}`,
            dataset: { zoneId: sez.id, province: sez.province, status: sez.status,
                progress: progress ? String(progress.pct) : "" },
        },
            h("a", { class: "zone-link", href: `#/zone/${encodeURIComponent(sez.id)}` },
                names(sez.name, sez.name_zh, sez.name_ur)),
            h("p", { class: "zone-where" },
                h("span", { class: "province", title: sez.province }, provinceName(sez.province)),
                sez.district ? ` · ${sez.district}` : "",
                sez.fast_track ? h("span", { class: "badge fast-track" }, "fast track") : null),
            h("p", { class: "zone-status" },
                h("span", { class: `status status-${sez.status}` }, SEZ_STATUS_LABELS[sez.status] || humanize(sez.status)),
                stage > 0 ? h("span", { class: "muted" }, ` (SEZ Act stage ${stage} of ${SEZ_STAGES.length})`) : null),
            progress
                ? [progressBar(progress.pct, `${sez.name}: milestones completed`),
                    h("p", { class: "progress-text" },
                        `${progress.done} of ${progress.of} milestones completed (${progress.pct}%)`,
                        line.delayed ? h("span", { class: "count-delayed" }, ` · ${line.delayed} delayed`) : null,
                        line.at_risk ? h("span", { class: "count-at-risk" }, ` · ${line.at_risk} at risk`) : null)]
                : h("p", { class: "progress-text muted" }, "No milestones tracked yet"));
    }

    //  A zone: its particulars, then its milestone timeline from ZoneSchedule.
    async function zoneView(zoneId) {
        const path = `/v1/sezs/${encodeURIComponent(zoneId)}`;
        const [sez, schedule] = await Promise.all([api(path), api(`${path}/schedule`).catch((e) => {
            if (e.status === 401) throw e;
            return { error: e };
        })]);
        await loadOverview(false).catch(() => null);
        document.title = `${sez.name} — CPEC SEZ`;
        const section = h("section", { id: "zone", class: "view-zone", dataset: { zoneId: sez.id } },
            h("p", {}, h("a", { href: "#/", class: "back" }, "← All zones")),
            names(sez.name, sez.name_zh, sez.name_ur, "h2"),
            zoneFacts(sez));
        if (schedule.error) {
            section.append(errorBox("The milestone timeline is unavailable", schedule.error));
            return section;
        }
        const entries = schedule.entries || [];
        for (const entry of entries) if (entry.milestone) state.titles.set(entry.milestone.id, entry.milestone.title);
        section.append(h("h3", {}, "Milestone timeline"));
        if (!entries.length) {
            section.append(h("p", { id: "timeline", class: "muted", dataset: { count: "0" } },
                "No milestones are tracked for this zone yet."));
            return section;
        }
        if (schedule.finish_milestone_id) {
            section.append(h("p", { class: "finish" }, "Commercial operation forecast: ",
                h("strong", {}, day(schedule.finish_forecast)),
                ` (${state.titles.get(schedule.finish_milestone_id) || schedule.finish_milestone_id})`));
        }
        section.append(legend(), timeline(entries));
        return section;
    }

    function zoneFacts(sez) {
        const rows = [];
        const add = (label, value) => {
            if (value !== null && value !== undefined && value !== "" && !(Array.isArray(value) && !value.length))
                rows.push(h("dt", {}, label), h("dd", {}, value));
        };
        add("Province", provinceNames(sez.province));
        add("District", sez.district);
        add("Location", sez.location);
        add("Status", SEZ_STATUS_LABELS[sez.status] || humanize(sez.status));
        add("Fast track", sez.fast_track ? "yes" : null);
        add("Area", typeof sez.area_acres === "number" ? `${sez.area_acres.toLocaleString("en")} acres` : null);
        const land = sez.land || {};
        if (typeof land.leasable_acres === "number")
            add("Land", `${(land.allotted_acres || 0).toLocaleString("en")} of ${land.leasable_acres.toLocaleString("en")} leasable acres allotted`);
        add("Developer", sez.developer);
        add("Zone authority", sez.zone_authority);
        const util = sez.utilities || {};
        const lines = ["power", "gas", "water"].filter((k) => util[k]).map((k) => {
            const u = util[k];
            const planned = typeof u.planned === "number" ? u.planned : "?";
            const connected = typeof u.connected === "number" ? u.connected : 0;
            return `${k}: ${connected} of ${planned} ${u.unit || ""} connected`;
        });
        add("Utilities", lines.join("; "));
        add("Sectors (ISIC)", (sez.sectors || []).join(", "));
        return h("dl", { class: "facts" }, rows);
    }

    function legend() {
        return h("p", { class: "legend" },
            h("span", { class: "mk baseline" }), " baseline ",
            h("span", { class: "mk planned" }), " planned ",
            h("span", { class: "mk forecast" }), " forecast ",
            h("span", { class: "mk actual" }), " actual ",
            h("span", { class: "crit-mark" }, "critical path"), " ",
            h("span", { class: "legend-delayed" }, "delayed"), " ",
            h("span", { class: "legend-at-risk" }, "at risk"));
    }

    //  The classes of a milestone's row (table) and lane (chart): critical, delayed (open and past its
    //  planned due), at-risk, completed, cancelled.
    function milestoneClasses(base, entry) {
        const m = entry.milestone;
        const classes = [base];
        if (entry.critical) classes.push("critical");
        if (m.overdue) classes.push("delayed");
        if (m.at_risk) classes.push("at-risk");
        if (m.status === "COMPLETED") classes.push("completed");
        if (m.status === "CANCELLED") classes.push("cancelled");
        return classes.join(" ");
    }

    function critMark() {
        return h("span", { class: "crit-mark", title: "On the critical path to commercial operation" }, "critical path");
    }

    //  The timeline: a chart of every milestone's dates on one scale (today marked), then the table of them,
    //  both in the schedule's order (by forecast, then planned due).
    function timeline(entries) {
        return h("div", { class: "timeline-block" }, ganttChart(entries), timelineTable(entries));
    }

    function ganttChart(entries) {
        const now = Date.now();
        let lo = now;
        let hi = now;
        for (const { milestone: m } of entries) {
            for (const t of [m.baseline_due, m.planned_due, m.forecast_due, m.completed_at].map(ms))
                if (Number.isFinite(t)) {
                    lo = Math.min(lo, t);
                    hi = Math.max(hi, t);
                }
        }
        const pad = Math.max((hi - lo) * 0.03, 86400000);
        lo -= pad;
        hi += pad;
        const at = (t) => `${((100 * (t - lo)) / (hi - lo)).toFixed(2)}%`;
        const years = [];
        for (let y = new Date(lo).getUTCFullYear() + 1; Date.UTC(y, 0, 1) < hi; y++) years.push(y);
        const step = Math.max(1, Math.ceil(years.length / 10));
        const today = () => h("span", { class: "today", style: { left: at(now) }, title: `today ${day(new Date(now).toISOString())}` });
        const axis = h("div", { class: "lane axis", "aria-hidden": "true" },
            h("span", { class: "lane-label" }),
            h("div", { class: "track" },
                years.filter((y, i) => i % step === 0).map((y) =>
                    h("span", { class: "tick", style: { left: at(Date.UTC(y, 0, 1)) } }, String(y))),
                today()));
        const lanes = entries.map((entry) => {
            const m = entry.milestone;
            const completed = m.status === "COMPLETED";
            const planned = ms(m.planned_due);
            const forecast = ms(m.forecast_due);
            return h("div", { class: milestoneClasses("lane", entry), dataset: { milestoneId: m.id } },
                h("span", { class: "lane-label", title: `${m.title} (${m.id})` }, m.title),
                h("div", { class: "track" },
                    today(),
                    Number.isFinite(planned) && Number.isFinite(forecast) && forecast > planned + 43200000
                        ? h("span", { class: "slip", title: `forecast ${days((forecast - planned) / 86400000)} after plan`,
                            style: { left: at(planned), width: `calc(${at(forecast)} - ${at(planned)})` } })
                        : null,
                    marker("baseline", m.baseline_due, at),
                    marker("planned", m.planned_due, at),
                    completed ? null : marker("forecast", m.forecast_due, at),
                    marker("actual", m.completed_at, at)));
        });
        return h("div", { id: "gantt", class: "gantt-chart", role: "img",
            "aria-label": "The milestones' baseline, planned, forecast and actual dates on a time line" }, axis, lanes);
    }

    function timelineTable(entries) {
        const rows = entries.map((entry) => {
            const m = entry.milestone;
            const completed = m.status === "COMPLETED";
            const late = completed && Number(m.slip_days) > 0.5;
            const planned = ms(m.planned_due);
            const forecast = ms(m.forecast_due);
            let statusText = humanize(m.status);
            if (m.overdue) statusText += Number(m.slip_days) >= 1 ? `, overdue ${days(m.slip_days)}` : ", overdue";
            else if (m.at_risk) statusText += ", at risk";
            else if (late) statusText += `, ${days(m.slip_days)} late`;
            if (!completed && m.percent_complete) statusText += ` (${m.percent_complete}%)`;
            return h("tr", { class: milestoneClasses("milestone", entry),
                dataset: { milestoneId: m.id, critical: entry.critical ? "true" : "false" } },
                h("td", { class: "ms-title" },
                    names(m.title, m.title_zh, m.title_ur),
                    entry.critical ? critMark() : null,
                    h("span", { class: "ms-meta muted" }, [m.id, humanize(m.kind), m.agency].filter(Boolean).join(" · "))),
                h("td", { class: "ms-status" }, statusText),
                dateCell(m.baseline_due),
                dateCell(m.planned_due),
                completed ? h("td", { class: "muted" }, "—") : dateCell(m.forecast_due, forecast > planned ? "slipping" : null),
                dateCell(m.completed_at, late ? "late" : null),
                h("td", { class: "num" }, completed ? "—" : days(entry.slack_days)));
        });
        return h("div", { class: "table-wrap" },
            h("table", { id: "timeline", class: "timeline", dataset: { count: String(entries.length) } },
                h("thead", {}, h("tr", {},
                    ["Milestone", "Status", "Baseline", "Planned", "Forecast", "Actual", "Slack"].map((c) =>
                        h("th", { scope: "col", class: c === "Slack" ? "num" : null,
                            title: c === "Slack" ? "how far it can slip before commercial operation moves" : null }, c)))),
                h("tbody", {}, rows)));
    }

    function marker(kind, ts, at) {
        const t = ms(ts);
        if (!Number.isFinite(t)) return null;
        return h("span", { class: `mk ${kind}`, style: { left: at(t) }, title: `${kind} ${day(ts)}` });
    }

    //  The portfolio by province: the milestones service's counts per province, with the zones of each.
    async function portfolioView() {
        await loadOverview(false);
        document.title = "Portfolio by province — CPEC SEZ";
        const section = h("section", { class: "view-portfolio" }, h("h2", {}, "Portfolio by province"));
        if (state.portfolioError) {
            section.append(errorBox("The portfolio is unavailable", state.portfolioError));
            return section;
        }
        const p = state.portfolio || {};
        const provinceLines = new Map((p.provinces || []).map((line) => [line.province, line]));
        const zonesOf = new Map();
        for (const sez of state.sezs) {
            if (!zonesOf.has(sez.province)) zonesOf.set(sez.province, []);
            zonesOf.get(sez.province).push(sez);
        }
        const codes = Array.from(new Set([...Object.keys(PROVINCES), ...provinceLines.keys(), ...zonesOf.keys()]))
            .filter((code) => provinceLines.has(code) || zonesOf.has(code));
        const head = h("thead", {}, h("tr", {},
            [["Province / zone"], ["Zones"], ["Milestones", "cancelled ones in brackets"], ["Completed"], ["On time"],
                ["Delayed"], ["At risk"], ["Progress", "completed of those not cancelled"],
                ["Slip (mean / worst)", "over the milestones that slip: completion (else forecast) after the planned due"],
                ["Vs baseline", "mean of completion (else forecast) minus the first plan"]].map(([c, t]) =>
                h("th", { scope: "col", title: t || null }, c))));
        const body = h("tbody", {});
        for (const code of codes) {
            const zones = zonesOf.get(code) || [];
            body.append(lineRow(provinceNames(code), zones.length, provinceLines.get(code), "province", { province: code }));
            for (const sez of zones)
                body.append(lineRow(h("a", { href: `#/zone/${encodeURIComponent(sez.id)}` }, sez.name), "",
                    zoneLine(sez.id), "zone-line", { zoneId: sez.id }));
        }
        const foot = h("tfoot", {}, lineRow("All provinces", state.sezs.length, p.total, "total", {}));
        section.append(h("div", { class: "table-wrap" }, h("table", { id: "portfolio", class: "portfolio" }, head, body, foot)));
        if (p.as_of) section.append(h("p", { class: "muted" }, `As of ${localTime(p.as_of)}.`));
        return section;
    }

    function lineRow(label, zoneCount, line, cls, dataset) {
        const th = h("th", { scope: "row" }, label);
        if (!line || !line.total)
            return h("tr", { class: cls, dataset }, th, h("td", { class: "num" }, String(zoneCount)),
                h("td", { colspan: 8, class: "muted" }, "no milestones tracked"));
        const counted = line.total - (line.cancelled || 0);
        const pct = percent(line.completed || 0, counted);
        const num = (v, extra) => h("td", { class: `num${extra && v ? ` ${extra}` : ""}` }, String(v || 0));
        const round = (v) => Math.round(Number(v) || 0);
        return h("tr", { class: cls, dataset },
            th, h("td", { class: "num" }, String(zoneCount)),
            h("td", { class: "num" }, String(line.total), line.cancelled ? h("span", { class: "muted" }, ` (${line.cancelled})`) : null),
            num(line.completed), num(line.on_time), num(line.delayed, "count-delayed"), num(line.at_risk, "count-at-risk"),
            h("td", { class: "nowrap" }, progressBar(pct, "completed"), h("span", { class: "muted" }, ` ${pct}%`)),
            h("td", { class: `num${line.worst_slip_days >= 1 ? " count-delayed" : ""}` },
                line.worst_slip_days >= 0.5 ? `${round(line.mean_slip_days)} / ${days(line.worst_slip_days)}` : "—"),
            h("td", { class: "num" }, days(line.mean_variance_days)));
    }

    //  Matches: the funnel and the latest matches, when the matchmaking service answers.
    async function matchesView() {
        await loadOverview(false).catch(() => null);
        document.title = "Matches — CPEC SEZ";
        const section = h("section", { id: "matches", class: "view-matches" }, h("h2", {}, "Matches"));
        let funnel;
        let matches;
        try {
            [funnel, matches] = await Promise.all([api("/v1/funnel"), api("/v1/matches?page_size=20")]);
        } catch (e) {
            if (e.status === 401) throw e;
            section.dataset.available = "false";
            section.append(h("p", { class: "muted" },
                e.status === 404 || e.status === 503 || e.code === "UNAVAILABLE" || e.code === "DEADLINE_EXCEEDED"
                    ? "Matchmaking is not running on this platform yet."
                    : null),
            errorBox("Matches are unavailable", e));
            return section;
        }
        section.dataset.available = "true";
        const all = funnel.all || {};
        const counts = new Map((all.states || []).map((c) => [c.state, c.matches || 0]));
        const top = Math.max(1, ...counts.values());
        section.append(h("h3", {}, `Funnel (${all.total || 0} matches)`),
            h("ol", { class: "funnel", id: "funnel" }, MATCH_STATES.map((s) =>
                h("li", { dataset: { state: s } },
                    h("span", { class: "funnel-label" }, MATCH_STATE_LABELS[s] || humanize(s)),
                    h("span", { class: "funnel-bar", style: { width: `${(100 * (counts.get(s) || 0)) / top}%` } }),
                    h("span", { class: "num" }, String(counts.get(s) || 0))))));
        const byProvince = funnel.provinces || [];
        if (byProvince.length) {
            section.append(h("h3", {}, "By province"),
                h("table", { class: "funnel-provinces" },
                    h("thead", {}, h("tr", {}, h("th", {}, "Province"), h("th", {}, "Matches"), h("th", {}, "By state"))),
                    h("tbody", {}, byProvince.map((row) => h("tr", { dataset: { province: row.key } },
                        h("th", { scope: "row" }, row.key ? provinceName(row.key) : "—"),
                        h("td", { class: "num" }, String(row.total || 0)),
                        h("td", {}, (row.states || []).map((c) => `${MATCH_STATE_LABELS[c.state] || humanize(c.state)} ${c.matches}`).join(", ")))))));
        }
        const list = matches.matches || [];
        await loadEnterpriseNames(list);
        section.append(h("h3", {}, "Latest matches"));
        if (!list.length) {
            section.append(h("p", { class: "muted" }, "No match has been proposed yet."));
            return section;
        }
        section.append(h("div", { class: "table-wrap" }, h("table", { class: "matches" },
            h("thead", {}, h("tr", {}, ["Enterprises", "State", "Score", "Zone", "Province", "Expires"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, list.map((m) => h("tr", { class: "match", dataset: { matchId: m.id, state: m.state } },
                h("td", {}, enterpriseNames(m.enterprise_a), h("span", { class: "muted" }, " ↔ "), enterpriseNames(m.enterprise_b)),
                h("td", {}, MATCH_STATE_LABELS[m.state] || humanize(m.state)),
                h("td", { class: "num" }, Number(m.score || 0).toFixed(1)),
                h("td", {}, m.zone_id ? h("a", { href: `#/zone/${encodeURIComponent(m.zone_id)}` }, zoneName(m.zone_id)) : "—"),
                h("td", {}, provinceName(m.province)),
                h("td", { class: "nowrap" }, m.expires_at ? day(m.expires_at) : "—")))))));
        return section;
    }

    //  The names of the firms of the matches shown (one call per firm not seen yet; failures leave the id).
    async function loadEnterpriseNames(list) {
        const ids = new Set();
        for (const m of list) for (const id of [m.enterprise_a, m.enterprise_b]) if (id && !state.enterprises.has(id)) ids.add(id);
        await Promise.all(Array.from(ids).slice(0, 40).map((id) =>
            api(`/v1/enterprises/${encodeURIComponent(id)}`).then((e) => state.enterprises.set(id, e), (e) => {
                if (e.status === 401) throw e;
                state.enterprises.set(id, null);
            })));
    }

    function enterpriseNames(id) {
        const e = state.enterprises.get(id);
        if (!e) return h("span", { class: "enterprise" }, id || "—");
        return h("span", { class: "enterprise", title: `${id} (${e.country})` }, names(e.name, e.name_zh, e.name_ur));
    }

    //  ----------------------------------------------------------------------
    //  Live alerts: Server-Sent Events over fetch()

    //  An SSE parser (the WHATWG event-stream format): push(text) with whatever the network gave, in order;
    //  onEvent({type, data, id}) for each event dispatched, onId(id) whenever the last event id changes,
    //  onRetry(ms) for a retry field. Lines end in CRLF, LF or CR; comments (": keepalive") are skipped.
    function sseParser(onEvent, onId, onRetry) {
        let buffer = "";
        let data = [];
        let type = "";
        let lastId = "";
        let first = true;

        function line(text) {
            if (text === "") {
                if (data.length) onEvent({ type: type || "message", data: data.join("\n"), id: lastId });
                data = [];
                type = "";
                return;
            }
            if (text.charAt(0) === ":") return;
            const colon = text.indexOf(":");
            const field = colon < 0 ? text : text.slice(0, colon);
            let value = colon < 0 ? "" : text.slice(colon + 1);
            if (value.charAt(0) === " ") value = value.slice(1);
            if (field === "data") data.push(value);
            else if (field === "event") type = value;
            else if (field === "id") {
                if (!value.includes("\0")) {
                    lastId = value;
                    onId(value);
                }
            } else if (field === "retry") {
                if (/^\d+$/.test(value)) onRetry(Number(value));
            }
        }

        return {
            push(text) {
                if (first) {
                    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
                    if (text) first = false;
                }
                buffer += text;
                for (;;) {
                    const cr = buffer.indexOf("\r");
                    const lf = buffer.indexOf("\n");
                    if (cr < 0 && lf < 0) break;
                    let end;
                    let next;
                    if (cr >= 0 && (lf < 0 || cr < lf)) {
                        //  a CR at the end may be the first half of a CRLF: wait for more
                        if (cr === buffer.length - 1) break;
                        end = cr;
                        next = buffer.charAt(cr + 1) === "\n" ? cr + 2 : cr + 1;
                    } else {
                        end = lf;
                        next = lf + 1;
                    }
                    const text1 = buffer.slice(0, end);
                    buffer = buffer.slice(next);
                    line(text1);
                }
            },
        };
    }

    function setLive(status, text) {
        live.status = status;
        const el = $("#live-status");
        el.dataset.state = status;
        el.textContent = text;
    }

    function stopLive() {
        clearTimeout(live.timer);
        clearTimeout(live.idleTimer);
        live.timer = null;
        if (live.controller) live.controller.abort();
        live.controller = null;
        live.attempt = 0;
        live.lastId = "";
        setLive("off", "Not connected");
    }

    //  Connects (again) to the stream, sending the last event id received; on any end, tries again later.
    async function connectLive() {
        clearTimeout(live.timer);
        live.timer = null;
        if (live.controller) live.controller.abort();
        if (!state.token) return;
        const controller = new AbortController();
        live.controller = controller;
        setLive("connecting", live.attempt ? "Reconnecting…" : "Connecting…");
        const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
        if (live.lastId) headers["Last-Event-ID"] = live.lastId;
        let response;
        try {
            response = await fetch("/v1/events/stream", { headers, cache: "no-store", signal: controller.signal });
        } catch (e) {
            if (!controller.signal.aborted) retryLive("the gateway did not answer");
            return;
        }
        if (controller.signal.aborted) return;
        if (response.status === 401) {
            signOut("The token was refused by the event stream. Paste a valid one.");
            return;
        }
        const type = response.headers.get("Content-Type") || "";
        if (!response.ok || !response.body || !type.startsWith("text/event-stream")) {
            controller.abort();
            const why = response.ok ? `not an event stream (${type || "no type"})` : `HTTP ${response.status}`;
            retryLive(why, response.status === 404 || response.status === 405);
            return;
        }
        setLive("live", "Live");
        const parser = sseParser(onStreamEvent, (id) => {
            live.lastId = id;
        }, (retry) => {
            live.retryMs = Math.min(Math.max(retry, 250), BACKOFF_MAX_MS);
        });
        const reader = response.body.getReader();
        const decoder = new TextDecoder("utf-8");
        const idle = () => {
            clearTimeout(live.idleTimer);
            live.idleTimer = setTimeout(() => controller.abort(), STREAM_IDLE_MS);
        };
        idle();
        let reason = "the stream ended";
        try {
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                idle();
                live.attempt = 0; //  bytes came: the next drop starts the back-off afresh
                parser.push(decoder.decode(value, { stream: true }));
            }
        } catch (e) {
            reason = controller.signal.aborted ? "no keepalive from the stream" : "the stream broke";
        }
        clearTimeout(live.idleTimer);
        if (live.controller !== controller) return; //  stopped, or replaced by a newer connection
        if (controller.signal.aborted && reason === "the stream ended") return;
        controller.abort();
        retryLive(reason);
    }

    //  Another attempt later: the delay doubles from the base (1 s, or the stream's retry field) up to 30 s,
    //  with some jitter so that many dashboards do not come back at once; a route not served waits longest.
    function retryLive(why, longWait) {
        if (!state.token) return;
        const base = longWait ? BACKOFF_MAX_MS : Math.min(BACKOFF_MAX_MS, live.retryMs * 2 ** live.attempt);
        const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
        live.attempt++;
        setLive(longWait ? "unavailable" : "retrying",
            `${longWait ? "Live feed not available" : "Disconnected"} (${why}); retrying in ${Math.ceil(delay / 1000)} s`);
        clearTimeout(live.timer);
        live.timer = setTimeout(connectLive, delay);
    }

    function onStreamEvent(message) {
        try {
            showEvent(message);
        } catch (e) {
            console.error("event stream: an event could not be shown", message.id, e);
        }
    }

    function showEvent(message) {
        let event;
        try {
            event = JSON.parse(message.data);
        } catch (e) {
            console.warn("event stream: an event that is not JSON was skipped", message.id);
            return;
        }
        if (!event || typeof event !== "object") return;
        const type = event.type || message.type;
        const key = event.id || message.id;
        if (key) {
            if (state.seenEvents.has(key)) return; //  sent again after a reconnection
            state.seenEvents.add(key);
            if (state.seenEvents.size > 5000) state.seenEvents = new Set(Array.from(state.seenEvents).slice(-2500));
        }
        if (ALERT_TYPES.has(type) || /^Match[A-Z]/.test(type)) addAlert(type, event, message.id);
        refreshFor(type, event);
    }

    //  The event's payload: its one field that is an object (the proto3 oneof, e.g. milestone_delayed).
    function payloadOf(event) {
        for (const [key, value] of Object.entries(event))
            if (value && typeof value === "object" && !Array.isArray(value) && key !== "occurred_at") return value;
        return {};
    }

    function alertDetail(type, p) {
        switch (type) {
        case "MilestoneDelayed": {
            const down = (p.downstream || []).length;
            return (Number(p.days_late) >= 1 ? `${days(p.days_late)} late` : "now overdue") + `; planned ${day(p.planned_due)}` + (p.agency ? `; ${p.agency}` : "") +
                (down ? `; ${down} milestone${down === 1 ? "" : "s"} downstream` : "");
        }
        case "MilestoneAtRisk":
            return `forecast ${day(p.forecast_due)}, after the planned ${day(p.planned_due)}` + (p.agency ? `; ${p.agency}` : "");
        case "MilestoneBackOnTrack":
            return `forecast ${day(p.forecast_due)}, planned ${day(p.planned_due)}`;
        case "MilestoneCompleted": {
            const slip = Math.round(Number(p.slip_days) || 0);
            return `completed ${day(p.completed_at)}` + (slip > 0 ? `, ${days(slip)} late` : slip < 0 ? `, ${days(-slip)} early` : ", on time");
        }
        case "MilestoneReplanned":
            return `due ${day(p.old_due)} → ${day(p.new_due)}` + (p.reason ? `: ${p.reason}` : "");
        case "MatchExpiring":
            return `${p.enterprise_a || "?"} ↔ ${p.enterprise_b || "?"}; expires ${day(p.expires_at)}`;
        default:
            if (type.startsWith("Match"))
                return `${p.enterprise_a || "?"} ↔ ${p.enterprise_b || "?"}: ${humanize(p.from)} → ${humanize(p.to)}`;
            return "";
        }
    }

    function addAlert(type, event, streamId) {
        const p = payloadOf(event);
        const milestoneId = p.milestone_id || "";
        const title = p.title || state.titles.get(milestoneId) || "";
        const zoneId = event.zone_id || p.zone_id || "";
        const el = h("li", {
            class: `alert alert-${type}${type === "MilestoneDelayed" ? " severe" : ""}`,
            dataset: { type, milestoneId, zoneId, matchId: p.match_id || null, eventId: event.id || streamId || "" },
        },
            h("span", { class: "alert-type" }, ALERT_LABELS[type] || humanize(type)),
            h("time", { class: "alert-time", datetime: event.occurred_at || "" }, localTime(event.occurred_at)),
            zoneId ? h("a", { class: "alert-zone", href: `#/zone/${encodeURIComponent(zoneId)}` }, zoneName(zoneId)) : null,
            event.province ? h("span", { class: "alert-province muted" }, ` · ${provinceName(event.province)}`) : null,
            milestoneId || title
                ? h("p", { class: "alert-milestone" }, title ? h("span", { class: "alert-title" }, title) : null,
                    milestoneId ? h("span", { class: "alert-id muted" }, title ? ` (${milestoneId})` : milestoneId) : null)
                : p.match_id ? h("p", { class: "alert-milestone muted" }, p.match_id) : null,
            h("p", { class: "alert-detail" }, alertDetail(type, p)));
        const list = $("#alerts");
        list.prepend(el);
        while (list.children.length > MAX_ALERTS) list.lastElementChild.remove();
        $("#alerts-empty").hidden = true;
    }

    //  What an event changes on screen is drawn again: at most once per 300 ms however many events come.
    const pending = { timer: null, overview: false, redraw: false };
    function refreshFor(type, event) {
        const route = parseRoute();
        if (/^(Milestone|Sez|Enterprise)/.test(type)) {
            pending.overview = true;
            if (route.view === "zones" || route.view === "portfolio" || (route.view === "zone" && route.id === event.zone_id))
                pending.redraw = true;
        }
        if (/^Match/.test(type) && route.view === "matches") pending.redraw = true;
        if (pending.timer || !(pending.overview || pending.redraw)) return;
        pending.timer = setTimeout(async () => {
            const { overview, redraw } = pending;
            Object.assign(pending, { timer: null, overview: false, redraw: false });
            if (overview) {
                state.overviewAt = 0;
                try {
                    await loadOverview(true);
                } catch (e) {
                    //  the view draws the error
                }
            }
            if (redraw) await render();
        }, 300);
    }

    //  ----------------------------------------------------------------------
    //  Start

    function start() {
        $("#sign-in").hidden = true;
        $("#layout").hidden = false;
        $("#nav").hidden = false;
        render();
        connectLive();
    }

    function boot() {
        takeTokenFromFragment();
        if (!state.token) state.token = storeGet();
        $("#token-form").addEventListener("submit", (e) => {
            e.preventDefault();
            const token = $("#token-input").value.trim();
            $("#token-input").value = "";
            if (!token) return;
            state.token = token;
            storeSet(token);
            start();
        });
        $("#sign-out").addEventListener("click", () => signOut("Signed out."));
        window.addEventListener("hashchange", () => {
            if (takeTokenFromFragment()) {
                stopLive();
                state.overviewAt = 0;
                start();
                return;
            }
            render();
        });
        if (state.token) start();
        else showSignIn("");
    }

    //  For tests and the console: the stream's state (never the token).
    window.cpecDashboard = {
        live: () => ({ status: live.status, lastEventId: live.lastId, attempt: live.attempt }),
        sseParser,
    };

    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
    else boot();
})();
