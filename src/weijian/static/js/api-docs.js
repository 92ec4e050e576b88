// Starts swagger-ui on /api/docs (core/apidocs.py) from the local copy in /static/vendor/swagger-ui.
window.addEventListener('load', function () {
  var el = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({ url: el.getAttribute('data-openapi'), dom_id: '#swagger-ui', deepLinking: true });
});
