// spawner live pages: follows /events over a WebSocket and draws the
// servers of the link's scope. No build step, no dependency.
"use strict";
(function () {
  const STEPS = ["requested", "provisioning", "pending", "running", "booting", "ready", "stopping", "stopped"];

  const STRINGS = {
    en: {
      dashboard: "Your servers",
      server: "Server",
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting…",
      dead: "Link no longer valid",
      deadTitle: "This link no longer works",
      deadServer: "Open the link in the status message of the server’s ticket in Discord again (it is renewed at each step), or ask the bot for a new one with /server dashboard.",
      deadDashboard: "Ask the bot for a new one with /server dashboard in Discord.",
      empty: "No server right now. Start one with /server create in Discord.",
      waiting: "Waiting for news of this server…",
      steps: "Steps",
      address: "Address",
      addressSoon: "Known once the server is running",
      copy: "Copy",
      copied: "Copied",
      copyFailed: "Select and copy",
      players: "Players online",
      minimum: "minimum {0}",
      stopsIn: "Stops in",
      stopsAt: "at {0}",
      warnings: "Warnings",
      warnPlayers: "Too few players ({0} of {1}): it stops if nobody joins.",
      warnRuntime: "Time is almost up ({0} of {1}).",
      warnSpot: "AWS is reclaiming this server (Fargate Spot): it stops within two minutes.",
      extended: "Stop time moved to {0}.",
      ended: "Stopped",
      why: "Why: {0}",
      world: "World",
      worldSaved: "World saved.",
      worldFailed: "World backup failed; its older backups are untouched. An admin can read why in the bot’s log.",
      units: ["B", "KiB", "MiB", "GiB", "TiB"],
      worldState: { running: "running", asleep: "asleep", stored: "stored" },
      state: {
        requested: "Requested", provisioning: "Provisioning", pending: "Starting the machine",
        running: "Running", booting: "Booting the game", ready: "Ready", stopping: "Stopping", stopped: "Stopped",
      },
      cause: {
        command: "stopped with /server stop", max_runtime: "the maximum time was reached",
        players: "too few players", failed: "the creation failed", not_ready: "the game did not answer in time",
        task_ended: "the server stopped on its own", orphan: "a server nobody asked for",
        task_gone: "the server had disappeared", interrupted: "the bot restarted during the creation",
      },
    },
    fr: {
      dashboard: "Vos serveurs",
      server: "Serveur",
      connecting: "Connexion…",
      live: "En direct",
      reconnecting: "Reconnexion…",
      dead: "Lien plus valable",
      deadTitle: "Ce lien ne marche plus",
      deadServer: "Rouvrez le lien du message d’état dans le salon du serveur sur Discord (il est renouvelé à chaque étape), ou demandez-en un nouveau au bot avec /server dashboard.",
      deadDashboard: "Demandez-en un nouveau au bot avec /server dashboard sur Discord.",
      empty: "Aucun serveur pour l’instant. Lancez-en un avec /server create sur Discord.",
      waiting: "En attente de nouvelles de ce serveur…",
      steps: "Étapes",
      address: "Adresse",
      addressSoon: "Connue dès que le serveur tourne",
      copy: "Copier",
      copied: "Copiée",
      copyFailed: "Sélectionnez et copiez",
      players: "Joueurs en ligne",
      minimum: "minimum {0}",
      stopsIn: "S’arrête dans",
      stopsAt: "à {0}",
      warnings: "Avertissements",
      warnPlayers: "Trop peu de joueurs ({0} sur {1}) : il s’arrête si personne ne vient.",
      warnRuntime: "Le temps est presque écoulé ({0} sur {1}).",
      warnSpot: "AWS reprend ce serveur (Fargate Spot) : il s’arrête d’ici deux minutes.",
      extended: "Arrêt repoussé à {0}.",
      ended: "Arrêté",
      why: "Raison : {0}",
      world: "Monde",
      worldSaved: "Monde sauvegardé.",
      worldFailed: "La sauvegarde du monde a échoué ; ses anciennes sauvegardes sont intactes. Un admin peut lire pourquoi dans le journal du bot.",
      units: ["o", "Kio", "Mio", "Gio", "Tio"],
      worldState: { running: "lancé", asleep: "endormi", stored: "stocké" },
      state: {
        requested: "Demandé", provisioning: "Réservation", pending: "Démarrage de la machine",
        running: "En marche", booting: "Démarrage du jeu", ready: "Prêt", stopping: "Arrêt en cours", stopped: "Arrêté",
      },
      cause: {
        command: "arrêté avec /server stop", max_runtime: "la durée maximale est atteinte",
        players: "trop peu de joueurs", failed: "la création a échoué", not_ready: "le jeu n’a pas répondu à temps",
        task_ended: "le serveur s’est arrêté de lui-même", orphan: "un serveur que personne n’a demandé",
        task_gone: "le serveur avait disparu", interrupted: "le bot a redémarré pendant la création",
      },
    },
  };

  // The feed's address, from this script's: the assets are one level
  // below the pages' root, wherever a proxy serves it (PUBLIC_URL's path).
  const feed = new URL("../events", document.currentScript.src);

  const lang = String(navigator.language || "en").toLowerCase().startsWith("fr") ? "fr" : "en";
  const S = STRINGS[lang];
  document.documentElement.lang = lang;

  function t(key) {
    let s = S[key] !== undefined ? S[key] : key;
    for (let i = 1; i < arguments.length; i++) s = s.replace("{" + (i - 1) + "}", arguments[i]);
    return s;
  }

  const body = document.body;
  const page = body.dataset.page;
  const only = body.dataset.server || "";
  const token = new URLSearchParams(location.search).get("token") || "";
  const main = document.getElementById("main");
  const conn = document.getElementById("conn");
  const heading = document.getElementById("heading");
  const servers = new Map();
  const timeFmt = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function el(tag, attrs, children) {
    const n = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "text") n.textContent = attrs[k];
      else n.setAttribute(k, attrs[k]);
    }
    for (const c of children || []) if (c) n.appendChild(c);
    return n;
  }

  function when(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : timeFmt.format(d);
  }

  function valid(iso) {
    return iso && !iso.startsWith("0001-") && !isNaN(new Date(iso));
  }

  // apply folds one event into the state of its server.
  function apply(e) {
    if (!e || !e.server || (only && e.server !== only)) return;
    let s = servers.get(e.server);
    if (e.type === "snapshot" || !s) {
      s = { id: e.server, steps: {}, warnings: s ? s.warnings : [], time: "" };
      servers.set(e.server, s);
    } else if (s.time && e.time && new Date(e.time) < new Date(s.time)) {
      return; // an older change than what is shown
    }
    if (e.time) s.time = e.time;
    for (const k of ["owner", "game", "title", "variant", "address", "cause"]) if (e[k]) s[k] = e[k];
    if (e.players !== undefined && e.players !== null) s.players = e.players;
    if (e.minPlayers) s.min = e.minPlayers;
    if (valid(e.stopsAt)) s.stopsAt = e.stopsAt;
    if (e.steps) for (const k in e.steps) if (valid(e.steps[k])) s.steps[k] = e.steps[k];
    if (e.state) {
      s.state = e.state;
      if (!s.steps[e.state] && valid(e.time)) s.steps[e.state] = e.time;
    }
    if (e.world) s.world = foldWorld(s.world, e.world);
    if (e.type === "warning") s.warnings.push({ kind: e.warning, k: e.k, n: e.n, time: e.time });
    if (e.type === "extended" && valid(e.stopsAt)) s.warnings.push({ kind: "extended", at: e.stopsAt, time: e.time });
    if (e.type === "ended") s.state = "stopped";
  }

  // foldWorld is the world w once the event's world e is known: what e
  // says wins, and whether it was saved, once told, stays told.
  function foldWorld(w, e) {
    const out = Object.assign({}, w);
    for (const k of ["name", "owner", "state"]) if (e[k]) out[k] = e[k];
    if (typeof e.size === "number") out.size = e.size;
    if (typeof e.saved === "boolean") out.saved = e.saved;
    return out;
  }

  // size is n bytes for people, as the bot writes sizes in Discord:
  // "694 MiB", "1.2 GiB", in French "1,2 Gio".
  function size(n) {
    let v = n, u = 0;
    while (v >= 1024 && u < S.units.length - 1) {
      v /= 1024;
      u++;
    }
    let txt = String(Math.round(v));
    if (u > 0 && v < 10) txt = v.toFixed(1).replace(".", lang === "fr" ? "," : ".");
    return txt + " " + S.units[u];
  }

  function worldFact(w) {
    const sep = function () { return el("span", { class: "muted", text: " · " }); };
    return el("div", { class: "fact world", "data-world-state": w.state || "" }, [
      el("dt", { text: t("world") }),
      el("dd", {}, [el("span", { class: "world-line" }, [
        el("strong", { class: "world-name", text: w.name || "" }),
        w.size > 0 ? sep() : null,
        w.size > 0 ? el("span", { class: "world-size", text: size(w.size) }) : null,
        w.state ? sep() : null,
        w.state ? el("span", { class: "world-state", text: S.worldState[w.state] || w.state }) : null,
      ])]),
    ]);
  }

  function name(s) {
    const base = s.title || s.game || t("server");
    return s.variant ? base + " · " + s.variant : base;
  }

  function countdown(s) {
    if (!valid(s.stopsAt) || s.state === "stopped") return "";
    let left = Math.max(0, Math.round((new Date(s.stopsAt) - Date.now()) / 1000));
    const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), sec = left % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
  }

  function timeline(s) {
    const at = STEPS.indexOf(s.state);
    return el("ol", { class: "steps", "aria-label": t("steps") }, STEPS.map(function (step, i) {
      let cls = "todo";
      if (s.steps[step] || i < at) cls = "done";
      if (i === at) cls = s.state === "stopped" ? "done last" : "current";
      return el("li", { class: cls, "data-state": step }, [
        el("span", { class: "dot", "aria-hidden": "true" }),
        el("span", { class: "label", text: S.state[step] }),
        el("time", { datetime: s.steps[step] || "", text: s.steps[step] ? when(s.steps[step]) : "" }),
      ]);
    }));
  }

  function copyButton(addr) {
    const b = el("button", { type: "button", class: "copy", "data-copy": addr, text: t("copy") });
    b.addEventListener("click", function () {
      const done = function (ok) {
        b.textContent = ok ? t("copied") : t("copyFailed");
        setTimeout(function () { b.textContent = t("copy"); }, 2000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(addr).then(function () { done(true); }, function () { done(false); });
      } else done(false);
    });
    return b;
  }

  function warningText(w) {
    if (w.kind === "players") return t("warnPlayers", w.k, w.n);
    if (w.kind === "runtime") return t("warnRuntime", w.k, w.n);
    if (w.kind === "spot") return t("warnSpot");
    if (w.kind === "extended") return t("extended", when(w.at));
    return w.kind;
  }

  function card(s) {
    const ready = s.state === "ready";
    const facts = el("dl", { class: "facts" }, [
      el("div", { class: "fact address" }, [
        el("dt", { text: t("address") }),
        el("dd", {}, s.address
          ? [el("code", { class: "addr", text: s.address }), copyButton(s.address)]
          : [el("span", { class: "muted", text: t("addressSoon") })]),
      ]),
      s.world ? worldFact(s.world) : null,
      el("div", { class: "fact players" }, [
        el("dt", { text: t("players") }),
        el("dd", {}, [
          el("span", { class: "count", text: s.players !== undefined ? String(s.players) : "–" }),
          s.min ? el("span", { class: "muted", text: " " + t("minimum", s.min) }) : null,
        ]),
      ]),
      s.state !== "stopped" && valid(s.stopsAt) ? el("div", { class: "fact stops" }, [
        el("dt", { text: t("stopsIn") }),
        el("dd", {}, [
          el("span", { class: "countdown", "data-stops": s.stopsAt, text: countdown(s) }),
          el("span", { class: "muted", text: " " + t("stopsAt", when(s.stopsAt)) }),
        ]),
      ]) : null,
    ]);
    const parts = [
      el("header", { class: "card-head" }, [
        // On a server's own page the page's heading already names it.
        page === "server" ? el("p", { class: "card-kind", text: t("server") }) : el("h2", { text: name(s) }),
        el("span", { class: "badge " + (s.state || "requested"), "data-state": s.state || "", text: S.state[s.state] || s.state || "" }),
      ]),
      el("p", { class: "id muted", text: s.id }),
      facts,
      timeline(s),
    ];
    if (s.warnings.length) {
      parts.push(el("section", { class: "warnings", "aria-label": t("warnings") }, [
        el("h3", { text: t("warnings") }),
        el("ul", {}, s.warnings.map(function (w) {
          return el("li", {}, [el("time", { text: when(w.time) }), el("span", { text: " " + warningText(w) })]);
        })),
      ]));
    }
    if (s.state === "stopped") {
      parts.push(el("p", { class: "ended", role: "status" }, [
        el("strong", { text: t("ended") + " " }),
        s.cause ? el("span", { text: t("why", S.cause[s.cause] || s.cause) }) : null,
      ]));
    }
    if (s.world && typeof s.world.saved === "boolean") {
      parts.push(el("p", { class: "world-end " + (s.world.saved ? "saved" : "failed"), role: "status",
        text: t(s.world.saved ? "worldSaved" : "worldFailed") }));
    }
    return el("article", { class: "card" + (ready ? " is-ready" : ""), "data-server": s.id, "data-state": s.state || "" }, parts);
  }

  function render() {
    main.setAttribute("aria-busy", "false");
    const list = Array.from(servers.values());
    let nodes;
    if (page === "server") {
      const s = servers.get(only);
      heading.textContent = s ? name(s) : t("server");
      document.title = heading.textContent + " · spawner";
      nodes = s ? [card(s)] : [el("p", { class: "empty", text: t("waiting") })];
    } else {
      heading.textContent = t("dashboard");
      document.title = t("dashboard") + " · spawner";
      list.sort(function (a, b) {
        const sa = a.state === "stopped", sb = b.state === "stopped";
        if (sa !== sb) return sa ? 1 : -1;
        return String(a.steps.requested || "").localeCompare(String(b.steps.requested || ""));
      });
      nodes = list.length ? [el("div", { class: "grid" }, list.map(card))] : [el("p", { class: "empty", text: t("empty") })];
    }
    main.replaceChildren.apply(main, nodes);
  }

  function setConn(state) {
    conn.dataset.state = state;
    conn.textContent = t(state);
  }

  // linkIsDead asks the page's own address whether the link still works:
  // a refused WebSocket shows only as 1006, the same as a bot that is away,
  // while the page answers 401 or 403 once its link is no longer valid (the
  // bot came back with another WEB_SECRET, or the link expired meanwhile).
  function linkIsDead() {
    return fetch(location.href, { method: "HEAD", cache: "no-store" }).then(
      function (r) { return r.status === 401 || r.status === 403; },
      function () { return false; }); // the bot is away: try again later
  }

  // showDead tells the person the page will not come back and how to get a
  // new link; what is shown stays, greyed, as it was last known.
  function showDead() {
    setConn("dead");
    const notice = el("section", { id: "dead", class: "dead", role: "alert" }, [
      el("h2", { text: t("deadTitle") }),
      el("p", { text: t(page === "server" ? "deadServer" : "deadDashboard") }),
    ]);
    main.parentNode.insertBefore(notice, main);
    main.classList.add("stale");
  }

  let attempt = 0;
  function connect() {
    const url = new URL(feed);
    url.protocol = feed.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token);
    if (only) url.searchParams.set("server", only);
    const ws = new WebSocket(url.href);
    let fresh = true;
    ws.onmessage = function (m) {
      if (fresh) {
        fresh = false;
        attempt = 0;
        setConn("live");
      }
      let e;
      try { e = JSON.parse(m.data); } catch (err) { return; }
      apply(e);
      render();
    };
    ws.onopen = function () { setConn("live"); };
    ws.onclose = function (ev) {
      if (ev.code === 4001) { location.reload(); return; } // the link expired: the page says so
      setConn("reconnecting");
      const delay = Math.min(15000, 500 * Math.pow(2, attempt++)) * (0.8 + Math.random() * 0.4);
      linkIsDead().then(function (dead) {
        if (dead) showDead();
        else setTimeout(connect, delay);
      });
    };
  }

  setConn("connecting");
  render();
  connect();
  setInterval(function () {
    for (const n of document.querySelectorAll(".countdown")) {
      const s = servers.get(n.closest("[data-server]").dataset.server);
      if (s) n.textContent = countdown(s);
    }
  }, 1000);
})();
