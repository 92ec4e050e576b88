"""Remote consultation (远程会诊): commands, the request → schedule → answer flow, reads, the API and the pages."""
