// The API docs page (service/api/static/docs.html): Swagger UI, from the bentoml wheel, on this server's /docs.json.
// validatorUrl null: Swagger UI would otherwise show a badge image from validator.swagger.io.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/docs.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
