// GraphiQL's start-up, served from our origin like every other script of the page (the page's CSP allows
// 'self' scripts only: no inline script, no CDN). The API token goes in the Headers tab; it is not persisted.
(function () {
  "use strict";
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
      defaultHeaders: JSON.stringify({ Authorization: "Bearer <your API token>" }, null, 2),
      defaultQuery:
        "# Put your API token (panoptica token create) in the Headers tab below, then run.\n" +
        "{\n  repositories(first: 10) {\n    totalCount\n    edges { node { id name organization scanStatus } }\n  }\n}\n",
    })
  );
})();
