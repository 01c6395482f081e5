// Seed ../shared/seeds/001_77a22cec6169ac58.txt, section "Architectuur / Client-Side": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
useEffect(() => {
  const eventSource = new EventSource('/api/workorders/stream')
  
  eventSource.onmessage = (event) => {
    const data = JSON.parse(event.data)
    if (data.type === 'workorder-update') {
      // Reload data when update is received
      loadWorkOrders()
    }
  }
  
  eventSource.onerror = () => {
    eventSource.close()
    // Reconnect after 5 seconds
    setTimeout(connectSSE, 5000)
  }
  
  return () => eventSource.close()
}, [])
