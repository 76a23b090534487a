// OAuth 2.0 Form Post Response Mode: submit the response form once the page has loaded.
// Kept out of the page so the Content-Security-Policy can forbid inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) {
    form.submit();
  }
});
