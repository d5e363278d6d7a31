/* The network's map in its members' space: Leaflet + Leaflet.markercluster (the atlas map's
   assets, served from their PyPI packages) and the offline background of /api/map/background.
   The members layer comes from the network's GeoJSON endpoint, checked by the access policy. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("network-map-config").textContent);
  const text = JSON.parse(document.getElementById("network-map-text").textContent);
  const count = document.getElementById("network-map-count");
  const element = document.getElementById("network-map");
  const map = L.map(element, { maxZoom: 18 }).setView([48.6, 2.5], 8);
  map.createPane("background").style.zIndex = "250";

  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { maxZoom: 18 }).addTo(map);
  } else {
    fetch(config.background).then((r) => r.json()).then((data) => {
      L.geoJSON(data, {
        style: { color: "#8a97a6", weight: 1, fillColor: "#ffffff", fillOpacity: 0.6 },
        interactive: false,
        pane: "background",
      }).addTo(map);
    });
  }

  fetch(config.layer, { credentials: "same-origin" }).then((r) => {
    if (!r.ok) throw new Error(r.status);
    return r.json();
  }).then((data) => {
    const cluster = L.markerClusterGroup({ chunkedLoading: true });
    const bounds = [];
    for (const feature of data.features) {
      const [lon, lat] = feature.geometry.coordinates;
      const p = feature.properties;
      bounds.push([lat, lon]);
      const marker = L.circleMarker([lat, lon], {
        radius: 7, color: "#222", weight: 1, fillColor: "#1f77b4", fillOpacity: 0.9,
        className: "establishment-marker",
      });
      // Text nodes, not HTML: names come from the members' own records.
      const tooltip = document.createElement("span");
      tooltip.textContent = [p.name, p.activity, p.commune].filter(Boolean).join(" — ");
      marker.bindTooltip(tooltip);
      cluster.addLayer(marker);
    }
    cluster.addTo(map);
    if (bounds.length) map.fitBounds(bounds, { maxZoom: 13, padding: [20, 20] });
    count.textContent = `${data.features.length} ${text.members}`;
    element.dataset.ready = "1";
  }).catch((error) => {
    count.textContent = text.failed;
    console.error(error);
  });
})();
