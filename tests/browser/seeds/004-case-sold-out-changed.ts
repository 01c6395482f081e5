// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "3️⃣ 메뉴 품절 상태 변경 알림 / 구현 예시": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
case 'menu:sold_out_changed':
  // 메뉴 품절 상태 업데이트
  setMenus(prev => prev.map(menu =>
    menu.id === message.data.menuId
      ? { ...menu, isSoldOut: message.data.isSoldOut }
      : menu
  ));

  // 품절 알림 표시
  if (message.data.isSoldOut) {
    showToast(`${message.data.menuName}가 품절되었습니다`);
  }
  break;
