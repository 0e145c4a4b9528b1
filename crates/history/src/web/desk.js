// The operator's phone desk (/desk/phone): screen pop, after-call-work form, own state
// with buttons, FAQ search and the directory. Served as /static/desk.js (the content
// policy allows only the site's own scripts).
(function(){
  var box=document.getElementById('pop'); if(!box)return;
  var agent=box.getAttribute('data-agent');
  var q=agent?'?agent='+encodeURIComponent(agent):'';
  var csrfInput=document.querySelector('#acw input[name=csrf]');
  var csrf=csrfInput?csrfInput.value:'';
  function $(id){return document.getElementById(id);}
  function pad(n){return (n<10?'0':'')+n;}
  function localInput(d){return d.getFullYear()+'-'+pad(d.getMonth()+1)+'-'+pad(d.getDate())+'T'+pad(d.getHours())+':'+pad(d.getMinutes());}

  // Screen pop, pushed by the switch's events.
  var es=new EventSource('/desk/events'+q);
  // Marks the page as listening (and shows when the connection drops).
  es.onopen=function(){box.setAttribute('data-connected','1');};
  es.onerror=function(){box.setAttribute('data-connected','0');};
  es.addEventListener('ringing',function(e){
    var ev=JSON.parse(e.data);
    $('pop-line').textContent=ev.line+'（'+ev.dialled+'）';
    $('pop-caller').textContent=ev.caller||'非通知';
    $('pop-new').href='/desk/contacts/new?channel=phone&line='+encodeURIComponent(ev.dialled)+'&caller='+encodeURIComponent(ev.caller)+'&call_id='+encodeURIComponent(ev.call);
    // The after-call-work form, prefilled from the pop.
    $('channel').value='phone'; $('line').value=ev.dialled; $('caller').value=ev.caller||'';
    $('call_id').value=ev.call; $('started').value=localInput(new Date());
    $('acw').hidden=false;
    var saved=$('saved'); if(saved)saved.hidden=true;
    var list=$('pop-history'); list.textContent='';
    box.hidden=false;
    if(!ev.caller)return;
    fetch('/api/v1/contacts?caller='+encodeURIComponent(ev.caller)).then(function(r){return r.json();}).then(function(j){
      (j.contacts||[]).slice(0,10).forEach(function(c){
        var li=document.createElement('li'); var a=document.createElement('a');
        a.href='/desk/contacts/'+c.id; a.textContent=new Date(c.started_at*1000).toLocaleString('ja-JP')+' '+c.category+' '+c.summary.slice(0,40);
        li.appendChild(a); list.appendChild(li);
      });
      if(!list.children.length){var li=document.createElement('li'); li.textContent='記録はありません'; list.appendChild(li);}
    });
  });

  // The operator's state on the switch, and its buttons.
  var state=$('state');
  function showState(){
    fetch('/desk/state'+q).then(function(r){return r.json();}).then(function(j){
      if(j.error){$('state-now').textContent='—'; $('state-msg').textContent=j.error; return;}
      $('state-now').textContent=j.label; state.setAttribute('data-status',j.status);
      $('state-reason').textContent=j.pause_reason?'（'+j.pause_reason+'）':'';
    }).catch(function(){});
  }
  function press(op){
    var body=new URLSearchParams({csrf:csrf,agent:agent||'',op:op,reason:op==='pause'?$('pause-reason').value:''});
    fetch('/desk/state',{method:'POST',body:body}).then(function(r){return r.json();}).then(function(j){
      $('state-msg').textContent=j.error?j.error:'';
      showState();
    });
  }
  $('btn-pause').onclick=function(){press('pause');};
  $('btn-unpause').onclick=function(){press('unpause');};
  $('btn-end-wrapup').onclick=function(){press('end-wrapup');};
  showState(); setInterval(showState,2000);

  // The directory for transfers, and the pause reasons, from the switch.
  fetch('/desk/directory').then(function(r){return r.json();}).then(function(j){
    var sel=$('pause-reason');
    (j.pause_reasons||[]).forEach(function(p){var o=document.createElement('option'); o.value=p; o.textContent=p; sel.appendChild(o);});
    var tb=document.querySelector('#directory tbody');
    if(j.error){var tr=document.createElement('tr'); var td=document.createElement('td'); td.colSpan=3; td.textContent=j.error; tr.appendChild(td); tb.appendChild(tr); return;}
    (j.departments||[]).forEach(function(d){
      var tr=document.createElement('tr');
      [d.label, d.extension+(d.outside_number?'（'+d.outside_number+'）':''), d.open?'受付中':('時間外'+(d.closed_reason_ja?'：'+d.closed_reason_ja:''))].forEach(function(t){
        var td=document.createElement('td'); td.textContent=t; tr.appendChild(td);
      });
      tr.title=d.hours_text_ja||''; tr.setAttribute('data-open',d.open?'1':'0');
      tb.appendChild(tr);
    });
  });

  // FAQ search beside the pop; an answer used is added to the record.
  var ff=$('faq-form');
  if(ff)ff.onsubmit=function(e){
    e.preventDefault();
    var ol=$('faq-results'); ol.textContent='';
    fetch('/desk/faq?q='+encodeURIComponent($('faq-q').value)).then(function(r){return r.json();}).then(function(j){
      if(j.error){var li=document.createElement('li'); li.textContent=j.error; ol.appendChild(li); return;}
      (j.results||[]).forEach(function(h){
        var li=document.createElement('li'); var a=document.createElement('a');
        a.href=h.url; a.target='_blank'; a.rel='noopener'; a.textContent=h.id+' '+h.question;
        var b=document.createElement('button'); b.type='button'; b.textContent='記録に追加'; b.className='secondary';
        b.onclick=function(){var f=$('faq_ids'); var ids=f.value.split(/[,、\s]+/).filter(Boolean); if(ids.indexOf(h.id)<0)ids.push(h.id); f.value=ids.join(', ');};
        li.appendChild(a); li.appendChild(document.createTextNode(' ')); li.appendChild(b); ol.appendChild(li);
      });
      if(!ol.children.length){var li=document.createElement('li'); li.textContent='見つかりませんでした'; ol.appendChild(li);}
    });
  };
})();
