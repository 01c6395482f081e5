// Seed ../shared/seeds/002_f5d156b55c920764.txt, section "Frontend-Integration / React Hook": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
// src/hooks/useWebSocket.ts
import { useEffect, useCallback } from 'react';
import { wsClient } from '../services/websocket';

export function useWebSocket(event: string, callback: (data: any) => void) {
  const handleEvent = useCallback((data: any) => {
    callback(data);
  }, [callback]);

  useEffect(() => {
    wsClient.on(event, handleEvent);

    return () => {
      wsClient.off(event, handleEvent);
    };
  }, [event, handleEvent]);
}

export function useWebSocketRoom(room: string) {
  useEffect(() => {
    wsClient.joinRoom(room);

    return () => {
      wsClient.leaveRoom(room);
    };
  }, [room]);
}
